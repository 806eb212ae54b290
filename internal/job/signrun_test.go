package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
)

// signConfig signs host/demo/app:v1 with the in-process Sigstore st.
func signConfig(t *testing.T, st *sigstoretest.Stack, host string) Config {
	t.Helper()
	return Config{
		Images: []string{host + "/demo/app:v1"},
		Trust:  trust.Config{TrustedRoot: trustedRoot, SigningConfig: st.SigningConfig},
		Token:  sequence(jwt(t, time.Now().Add(10*time.Minute))),
	}
}

// referrers counts the bundles stored for d.
func referrers(t *testing.T, d string) int {
	t.Helper()
	subjects, err := registry.Resolve(context.Background(), []string{d}, false)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.NewReferrer().Read(context.Background(), subjects[0].Digest, payload.Signature{})
	if err != nil {
		t.Fatal(err)
	}
	return len(stored)
}

func TestSignWritesOneSignaturePerSubject(t *testing.T) {
	for _, tc := range []struct {
		name         string
		verify       bool
		wantVerified int // verifications recorded
	}{
		{"without read-back", false, 0},
		{"read-back fails closed against a root that trusts none of it", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			host := memRegistry(t)
			d := pushImage(t, host, "demo/app")
			c := signConfig(t, st, host)
			c.Verify = tc.verify
			var masked []string
			c.Mask = func(s string) { masked = append(masked, s) }
			run, err := Sign(context.Background(), c)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			type summary struct {
				Identity, Issuer     string
				Verified, Unverified bool
				Timestamps           bool
				Subjects             int
			}
			want := summary{sigstoretest.Identity, "https://token.actions.githubusercontent.com", false, !tc.verify, true, 1}
			got := summary{run.Policy.Identity, run.Policy.Issuer, run.Verified, run.Unverified, run.SignedTimestamps, len(run.Subjects)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Sign() run (-want +got):\n%s", diff)
			}
			s := run.Subjects[0]
			if s.Digest != d.String() || s.Err != nil || len(s.Signatures) != 1 {
				t.Fatalf("subject = %+v, want one signature of %s", s, d)
			}
			if sig := s.Signatures[0]; sig.LogIndex != sigstoretest.LogIndex || sig.LogURL != st.RekorURL || sig.Reused {
				t.Errorf("signature = %+v, want a new entry %d in %s", sig, sigstoretest.LogIndex, st.RekorURL)
			}
			if len(s.Verifications) != tc.wantVerified {
				t.Errorf("verifications = %d, want %d", len(s.Verifications), tc.wantVerified)
			}
			for _, v := range s.Verifications {
				if v.Verified {
					t.Error("a signature from an untrusted CA verified")
				}
			}
			if n := referrers(t, d.String()); n != 1 {
				t.Errorf("stored bundles = %d, want 1", n)
			}
			if len(masked) != 1 || !strings.Contains(st.Tokens[0], masked[0]) {
				t.Errorf("masked %d values, want the token sent to Fulcio", len(masked))
			}
		})
	}
}

func TestSignDryRunWritesNothing(t *testing.T) {
	st := sigstoretest.New(t)
	host := memRegistry(t)
	idx, children := pushIndex(t, host, "demo/multi", 2)
	c := signConfig(t, st, host)
	c.Images, c.Recursive, c.DryRun = []string{host + "/demo/multi:multi"}, true, true
	custom, err := payload.NewCustom("https://example.com/test/v1", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	c.Attestations = []payload.Kind{custom}
	run, err := Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	var got []string
	for _, s := range run.Subjects {
		got = append(got, s.Digest)
		if len(s.Signatures) != 0 {
			t.Errorf("%s: dry run recorded signatures %+v", s.Digest, s.Signatures)
		}
	}
	if diff := cmp.Diff(append([]string{idx.String()}, children...), got); diff != "" {
		t.Errorf("planned subjects (-want +got):\n%s", diff)
	}
	if !run.DryRun || len(st.Certificates) != 0 || st.Entries != 0 || st.Timestamps != 0 {
		t.Errorf("dry run: DryRun = %v, certificates %d, log entries %d, timestamps %d; want true, 0, 0, 0",
			run.DryRun, len(st.Certificates), st.Entries, st.Timestamps)
	}
	if n := referrers(t, idx.String()); n != 0 {
		t.Errorf("dry run stored %d bundles", n)
	}
	if diff := cmp.Diff([]string{"https://example.com/test/v1"}, run.Attestations); diff != "" {
		t.Errorf("attestations a dry run plans (-want +got):\n%s", diff)
	}
}

func TestSignRefusesBeforeWriting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Config, *sigstoretest.Stack)
		input   bool
		wantErr string
	}{
		{"Fulcio refuses the token", func(_ *Config, st *sigstoretest.Stack) { st.Refuse["fulcio"] = 401 }, true, "identity-token"},
		{"identity input differs from the certificate", func(c *Config, _ *sigstoretest.Stack) {
			c.Policy.Identity = "https://github.com/keyless-dev/other/.github/workflows/x.yml@refs/heads/main"
		}, true, "certificate-identity"},
		{"issuer input differs from the certificate", func(c *Config, _ *sigstoretest.Stack) { c.Policy.Issuer = "https://gitlab.com" }, true, "certificate-oidc-issuer"},
		{"image missing", func(c *Config, _ *sigstoretest.Stack) { c.Images = []string{c.Images[0] + "-missing"} }, true, "not found"},
		{"token source fails", func(c *Config, _ *sigstoretest.Stack) {
			c.Token = oidc.SourceFunc(func(context.Context) (string, error) { return "", errors.New("runner said 500") })
		}, false, "runner said 500"},
		{"no signing config", func(c *Config, _ *sigstoretest.Stack) { c.Trust.SigningConfig = "" }, true, "signing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			host := memRegistry(t)
			d := pushImage(t, host, "demo/app")
			c := signConfig(t, st, host)
			tc.edit(&c, st)
			run, err := Sign(context.Background(), c)
			if err == nil {
				t.Fatalf("Sign() = %+v, want an error", run)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Sign() error = %q, want it to contain %q", err, tc.wantErr)
			}
			if got := IsInput(err); got != tc.input {
				t.Errorf("IsInput(%q) = %v, want %v", err, got, tc.input)
			}
			if st.Entries != 0 || referrers(t, d.String()) != 0 {
				t.Errorf("a refused run wrote: log entries %d, stored bundles %d", st.Entries, referrers(t, d.String()))
			}
		})
	}
}

// TestSignRecordsTimestampsInEveryFormat: a run whose every store carries
// RFC 3161 timestamps says so, for the policies it generates, whichever
// formats it writes.
func TestSignRecordsTimestampsInEveryFormat(t *testing.T) {
	for _, formats := range [][]sign.Format{{sign.Bundle}, {sign.Legacy}, {sign.Bundle, sign.Legacy}} {
		t.Run(fmt.Sprint(formats), func(t *testing.T) {
			st := sigstoretest.New(t)
			host := memRegistry(t)
			pushImage(t, host, "demo/app")
			c := signConfig(t, st, host)
			c.Formats = formats
			run, err := Sign(context.Background(), c)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			if !run.SignedTimestamps || st.Timestamps != len(formats) {
				t.Errorf("SignedTimestamps = %v after %d timestamps, want true after %d", run.SignedTimestamps, st.Timestamps, len(formats))
			}
		})
	}
}

// TestSignReadsWhileTheCertificateIsIssued checks that each subject's
// stored signatures are read (for reuse) while Fulcio issues the
// certificate, not after: the fake Fulcio holds the certificate until the
// registry has been asked for them, or 2 s.
func TestSignReadsWhileTheCertificateIsIssued(t *testing.T) {
	for _, f := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(f), func(t *testing.T) {
			st := sigstoretest.New(t)
			read := make(chan struct{})
			var once sync.Once
			reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/referrers/") || strings.Contains(r.URL.Path, "/manifests/sha256-")) {
					once.Do(func() { close(read) })
				}
				reg.ServeHTTP(w, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			pushImage(t, host, "demo/app")
			var readFirst bool
			st.HoldCertificate = func() {
				select {
				case <-read:
					readFirst = true
				case <-time.After(2 * time.Second):
				}
			}
			c := signConfig(t, st, host)
			c.Formats = []sign.Format{f}
			run, err := Sign(context.Background(), c)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			if got := len(run.Subjects[0].Signatures); got != 1 || run.Subjects[0].Err != nil {
				t.Fatalf("signatures = %d, error %v; want 1 and none", got, run.Subjects[0].Err)
			}
			if !readFirst {
				t.Error("the stored signatures were read only after the certificate was issued")
			}
		})
	}
}

// TestSignFailsWhenTheCertificateDoes checks that a run whose certificate
// is refused returns that error and writes nothing, though its pipelines
// started reading while Fulcio answered.
func TestSignFailsWhenTheCertificateDoes(t *testing.T) {
	st := sigstoretest.New(t)
	st.Refuse["fulcio"] = 403
	host := memRegistry(t)
	d := pushImage(t, host, "demo/app")
	run, err := Sign(context.Background(), signConfig(t, st, host))
	if err == nil || !strings.Contains(err.Error(), "Fulcio refused") || run != nil {
		t.Fatalf("Sign() = %v, %v; want no run and Fulcio's refusal", run, err)
	}
	if n := referrers(t, d.String()); n != 0 {
		t.Errorf("stored bundles = %d, want none", n)
	}
}
