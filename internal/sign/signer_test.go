package sign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
)

// token is an unsigned JWT: Fulcio's fake does not check it, sigstore-go
// reads its subject.
func token(t *testing.T) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:keyless-dev/demo"})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

// pushed writes a random image to an in-memory registry.
func pushed(t *testing.T) registry.Subject {
	t.Helper()
	host := registrytest.New(t, false)
	d := registrytest.PushImage(t, host+"/demo/app:latest")
	ref := host + "/demo/app@" + d.String()
	subjects, err := registry.Resolve(context.Background(), []string{ref}, false)
	if err != nil || len(subjects) != 1 {
		t.Fatalf("Resolve(%s) = %v, %v", ref, subjects, err)
	}
	return subjects[0]
}

// newSigner is a Signer that signs with st in formats, the bundle format
// when none is given.
func newSigner(t *testing.T, st *sigstoretest.Stack, tok string, formats ...sign.Format) *sign.Signer {
	t.Helper()
	if len(formats) == 0 {
		formats = []sign.Format{sign.Bundle}
	}
	s, err := sign.New(tok, loadTrust(t, st.SigningConfig), formats)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadTrust loads the test trusted root with the signing config at path.
func loadTrust(t *testing.T, signingConfig string) *trust.Material {
	t.Helper()
	m, err := trust.Load(trust.Config{TrustedRoot: "../trust/testdata/trusted_root.json", SigningConfig: signingConfig}, true)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignerSignBundle(t *testing.T) {
	st := sigstoretest.New(t)
	subj := pushed(t)
	tok := token(t)
	ann := map[string]string{"build": "42"}
	s := newSigner(t, st, tok)
	ctx := context.Background()
	sig, err := s.Sign(ctx, subj, payload.Signature{Annotations: ann}, sign.Bundle)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	if diff := cmp.Diff([]string{"Bearer " + tok}, st.Tokens); diff != "" {
		t.Errorf("tokens sent to Fulcio (-want +got):\n%s", diff)
	}
	got := struct {
		Format   sign.Format
		LogURL   string
		LogIndex int64
	}{sig.Format, sig.LogURL, sig.LogIndex}
	want := struct {
		Format   sign.Format
		LogURL   string
		LogIndex int64
	}{sign.Bundle, st.RekorURL, sigstoretest.LogIndex}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sign() signature (-want +got):\n%s", diff)
	}
	if cert := sig.Bundle.GetVerificationMaterial().GetCertificate().GetRawBytes(); string(cert) != string(st.Certificates[0].Raw) {
		t.Error("the bundle does not hold the certificate Fulcio issued")
	}
	if n := len(sig.Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()); n != 1 || st.Timestamps != 1 {
		t.Errorf("bundle timestamps = %d, TSA answers = %d; want 1 and 1", n, st.Timestamps)
	}
	wantStmt, err := payload.Signature{Annotations: ann}.Statement(subj.Digest)
	if err != nil {
		t.Fatal(err)
	}
	env := sig.Bundle.GetDsseEnvelope()
	if diff := cmp.Diff(string(wantStmt), string(env.GetPayload())); diff != "" {
		t.Errorf("signed statement (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(payload.InTotoPayloadType, env.GetPayloadType()); diff != "" {
		t.Errorf("payload type (-want +got):\n%s", diff)
	}
	stored, err := store.NewReferrer().Read(ctx, subj.Digest, payload.Signature{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Location != sig.Location {
		t.Fatalf("stored referrers = %+v, want one at %s", stored, sig.Location)
	}
	b := stored[0].Bundle
	if stored[0].Err != nil {
		t.Fatalf("stored bundle: %v", stored[0].Err)
	}
	if b.GetVerificationMaterial().GetTlogEntries()[0].GetLogIndex() != sigstoretest.LogIndex {
		t.Errorf("stored bundle log index = %d, want %d", b.GetVerificationMaterial().GetTlogEntries()[0].GetLogIndex(), sigstoretest.LogIndex)
	}

	// A second subject reuses the run's certificate and adds a new entry.
	other := pushed(t)
	sig2, err := s.Sign(ctx, other, payload.Signature{Annotations: ann}, sign.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Certificates) != 1 || sig2.LogIndex != sigstoretest.LogIndex+1 {
		t.Errorf("after two signatures: certificates = %d, second index = %d; want 1 and %d", len(st.Certificates), sig2.LogIndex, sigstoretest.LogIndex+1)
	}
}

func TestSignerSignFailsWithoutWriting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  string
		format  sign.Format
		wantErr string
	}{
		{"Fulcio refuses", "fulcio", sign.Bundle, "fulcio says no"},
		{"Rekor refuses", "rekor", sign.Bundle, "rekor says no"},
		{"TSA refuses", "tsa", sign.Bundle, "timestamp"},
		{"unknown format", "", sign.Format("sbom"), `unknown format "sbom"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			if tc.refuse != "" {
				st.Refuse[tc.refuse] = 403
			}
			subj := pushed(t)
			s := newSigner(t, st, token(t))
			sig, err := s.Sign(context.Background(), subj, payload.Signature{}, tc.format)
			if err == nil {
				t.Fatalf("Sign() = %+v, want an error", sig)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Sign() error = %q, want it to contain %q", err, tc.wantErr)
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

func TestNewSelectsServicesPerFormat(t *testing.T) {
	st := sigstoretest.New(t)
	m := loadTrust(t, st.WriteSigningConfig(t, 2))
	for _, tc := range []struct {
		name    string
		formats []sign.Format
		want    trust.Services
		wantErr string
	}{
		{"bundle takes the v2 log and the TSA", []sign.Format{sign.Bundle}, trust.Services{Fulcio: st.FulcioURL, Rekor: st.RekorURL, RekorVersion: 2, TSAs: []string{st.TSAURL}}, ""},
		{"legacy needs a v1 log", []sign.Format{sign.Legacy}, trust.Services{}, "signature-format legacy needs a Rekor v1 log"},
		{"no format", nil, trust.Services{}, "no signature format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sign.New(token(t), m, tc.formats)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, s.Services(tc.formats[0])); diff != "" {
				t.Errorf("Services() (-want +got):\n%s", diff)
			}
		})
	}
}
