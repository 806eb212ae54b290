package sign_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
)

func TestSignerSignLegacy(t *testing.T) {
	st := sigstoretest.New(t)
	subj := pushed(t)
	ann := map[string]string{"build": "42"}
	s := newSigner(t, st, token(t), sign.Bundle, sign.Legacy)
	if got := s.Services(sign.Legacy); got.Rekor != st.RekorV1URL || got.RekorVersion != 1 {
		t.Fatalf("legacy services = %+v, want the Rekor v1 log %s", got, st.RekorV1URL)
	}
	ctx := context.Background()
	sig, err := s.Sign(ctx, subj, payload.Signature{Annotations: ann}, sign.Legacy)
	if err != nil {
		t.Fatalf("Sign(legacy) error = %v", err)
	}
	wantTag := subj.Digest.Context().Tag(strings.Replace(subj.Digest.DigestStr(), ":", "-", 1) + ".sig").String()
	got := []string{string(sig.Format), sig.Location, sig.LogURL}
	if diff := cmp.Diff([]string{string(sign.Legacy), wantTag, st.RekorV1URL}, got); diff != "" {
		t.Errorf("[format, location, log] (-want +got):\n%s", diff)
	}
	if sig.LogIndex != sigstoretest.LogIndex {
		t.Errorf("LogIndex = %d, want %d", sig.LogIndex, sigstoretest.LogIndex)
	}
	stored, err := store.NewTag().Read(ctx, subj.Digest, payload.Signature{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 {
		t.Fatalf("stored legacy signatures = %d, want 1", len(stored))
	}
	wantPayload, err := payload.Signature{Annotations: ann}.SimpleSigning(subj.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantPayload), string(stored[0].Blob)); diff != "" {
		t.Errorf("stored payload (-want +got):\n%s", diff)
	}
	// What a reader rebuilds from the .sig layer is what was signed: the
	// signature, the certificate, the log entry and the timestamp.
	back, err := stored[0].Bundle, stored[0].Err
	if err != nil {
		t.Fatalf("BundleFromLegacy() error = %v", err)
	}
	if diff := cmp.Diff(sig.Bundle.GetMessageSignature().GetSignature(), back.GetMessageSignature().GetSignature()); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
	// cosign's .sig layer names the leaf as a one-certificate chain.
	certs := back.GetVerificationMaterial().GetX509CertificateChain().GetCertificates()
	if len(certs) != 1 {
		t.Fatalf("rebuilt chain has %d certificates, want the leaf", len(certs))
	}
	if diff := cmp.Diff(st.Certificates[0].Raw, certs[0].GetRawBytes()); diff != "" {
		t.Errorf("certificate (-want +got):\n%s", diff)
	}
	wantEntry := sig.Bundle.GetVerificationMaterial().GetTlogEntries()[0]
	gotEntry := back.GetVerificationMaterial().GetTlogEntries()[0]
	if diff := cmp.Diff(wantEntry, gotEntry, protocmp.Transform(), protocmp.IgnoreFields(wantEntry, "inclusion_proof")); diff != "" {
		t.Errorf("log entry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sig.Bundle.GetVerificationMaterial().GetTimestampVerificationData(), back.GetVerificationMaterial().GetTimestampVerificationData(), protocmp.Transform()); diff != "" {
		t.Errorf("timestamps (-want +got):\n%s", diff)
	}

	// The bundle format of the same Signer still takes the v2 log.
	b, err := s.Sign(ctx, subj, payload.Signature{Annotations: ann}, sign.Bundle)
	if err != nil || b.LogURL != st.RekorURL {
		t.Errorf("Sign(bundle) = %+v, %v; want an entry in %s", b, err, st.RekorURL)
	}
}

func TestSignErrorNamesTheLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format sign.Format
		log    func(*sigstoretest.Stack) string
	}{
		{"bundle, Rekor v2", sign.Bundle, func(st *sigstoretest.Stack) string { return st.RekorURL }},
		{"legacy, Rekor v1", sign.Legacy, func(st *sigstoretest.Stack) string { return st.RekorV1URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			st.Refuse["rekor"] = 400
			s := newSigner(t, st, token(t), tc.format)
			subj := pushed(t)
			_, err := s.Sign(context.Background(), subj, payload.Signature{}, tc.format)
			want := "Rekor " + tc.log(st)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), subj.Digest.String()) {
				t.Errorf("Sign() error = %v, want one naming %q and the image", err, want)
			}
			if st.Calls["rekor"] != 1 {
				t.Errorf("Rekor calls = %d, want 1: a 400 is not retried", st.Calls["rekor"])
			}
		})
	}
}
