package sign_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
)

// TestSignTimestampsWhileLogging checks that a bundle's signature is
// timestamped while it is logged, not before: the fake TSA answers only
// once the log has received the write, so asking it first fails.
func TestSignTimestampsWhileLogging(t *testing.T) {
	for _, k := range []payload.Kind{payload.Signature{}, testKind{}} {
		t.Run(k.PredicateType(), func(t *testing.T) {
			st := sigstoretest.New(t)
			st.TSAWaitsForLog = time.Second
			s := newSigner(t, st, token(t))
			sig, err := s.Sign(context.Background(), pushed(t), k, sign.Bundle)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			sigs := sig.Bundle.GetDsseEnvelope().GetSignatures()
			if len(sigs) != 1 {
				t.Fatalf("bundle signatures = %d, want 1", len(sigs))
			}
			// The timestamp covers what sigstore-go's would: the raw signature.
			want := sha256.Sum256(sigs[0].GetSig())
			if diff := cmp.Diff([][]byte{want[:]}, st.Stamped); diff != "" {
				t.Errorf("stamped messages (-want +got):\n%s", diff)
			}
			if n := len(sig.Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()); n != 1 {
				t.Errorf("bundle timestamps = %d, want 1", n)
			}
			if n := len(sig.Bundle.GetVerificationMaterial().GetTlogEntries()); n != 1 {
				t.Errorf("bundle log entries = %d, want 1", n)
			}
		})
	}
}

// TestSignWritesNothingWhenEitherFails checks both halves of a signature
// logged and stamped at once: the failure of either fails the signature,
// names its service, and writes nothing.
func TestSignWritesNothingWhenEitherFails(t *testing.T) {
	for _, tc := range []struct {
		refuse, wantErr string
	}{
		{"tsa", "getting a timestamp from"},
		{"rekor", "Rekor"},
	} {
		t.Run(tc.refuse, func(t *testing.T) {
			st := sigstoretest.New(t)
			st.Refuse[tc.refuse] = 400
			subj := pushed(t)
			s := newSigner(t, st, token(t))
			if _, err := s.Sign(context.Background(), subj, payload.Signature{}, sign.Bundle); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Sign() error = %v, want one containing %q", err, tc.wantErr)
			}
			stored, err := store.NewReferrer().Read(context.Background(), subj.Digest, payload.Signature{})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 0 {
				t.Errorf("a failed Sign() wrote %d referrers", len(stored))
			}
		})
	}
}

// TestSignStampsWhileTheLogAnswers checks which signatures are stamped
// while their entry is written, so that the timestamp authority's round
// trip adds nothing to the log's: the fake log answers only once the TSA
// has stamped the signature it received, and the TSA only once the log
// has received it. A .att layer's timestamp covers its whole envelope,
// log entry included, so it is asked for after the log answers.
func TestSignStampsWhileTheLogAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   payload.Kind
		format sign.Format
		along  bool // stamped while the entry is written
	}{
		{"bundle signature", payload.Signature{}, sign.Bundle, true},
		{"bundle attestation", testKind{}, sign.Bundle, true},
		{"legacy .sig", payload.Signature{}, sign.Legacy, true},
		{"legacy .att", testKind{}, sign.Legacy, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			if tc.along {
				st.TSAWaitsForLog, st.LogWaitsForTSA = 2*time.Second, 2*time.Second
			}
			s := newSigner(t, st, token(t), tc.format)
			sig, err := s.Sign(context.Background(), pushed(t), tc.kind, tc.format)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			got := [2]int{len(sig.Bundle.GetVerificationMaterial().GetTlogEntries()), st.Timestamps}
			if diff := cmp.Diff([2]int{1, 1}, got); diff != "" {
				t.Errorf("[log entries, timestamps] (-want +got):\n%s", diff)
			}
		})
	}
}
