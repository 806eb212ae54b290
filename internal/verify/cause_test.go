package verify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestVerifyCause checks how a failure is classified: nothing stored,
// another identity, a stored signature whose manifest or blob is gone, and
// any other failed check. Each case stores a valid signature and changes
// one thing.
func TestVerifyCause(t *testing.T) {
	f := newFake(t)
	signBundle := func(s signer) func(t *testing.T, subj registry.Subject) {
		return func(t *testing.T, subj registry.Subject) {
			storeBundle(t, subj, f.attest(t, s, statement(t, subj.Digest.DigestStr(), payload.SignPredicateType)).bundleJSON(t))
		}
	}
	signLegacy := func(s signer) func(t *testing.T, subj registry.Subject) {
		return func(t *testing.T, subj registry.Subject) {
			msg := simpleSigning(t, subj.Digest)
			storeLegacy(t, subj, msg, f.signLegacy(t, s, msg).legacyAnnotations(t))
		}
	}
	other := f.signer()
	other.identity = evilIdentity
	otherIssuer := f.signer()
	otherIssuer.issuer = "https://gitlab.com"
	for _, tc := range []struct {
		name   string
		format sign.Format
		store  func(t *testing.T, subj registry.Subject)
		policy verify.Policy
		want   verify.Cause
	}{
		{"verified bundle", sign.Bundle, signBundle(f.signer()), demoPolicy, ""},
		{"verified legacy", sign.Legacy, signLegacy(f.signer()), demoPolicy, ""},
		{"nothing stored", sign.Bundle, func(*testing.T, registry.Subject) {}, demoPolicy, verify.Absent},
		{"nothing stored, legacy", sign.Legacy, func(*testing.T, registry.Subject) {}, demoPolicy, verify.Absent},
		{"a bundle signature for another format only", sign.Legacy, signBundle(f.signer()), demoPolicy, verify.Absent},
		{"another identity", sign.Bundle, signBundle(other), demoPolicy, verify.OtherIdentity},
		{"another issuer, legacy", sign.Legacy, signLegacy(otherIssuer), demoPolicy, verify.OtherIdentity},
		{"an extension the policy requires", sign.Bundle, signBundle(f.signer()), verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, SourceRef: "refs/heads/main"}, verify.OtherIdentity},
		{"another identity beside an invalid signature", sign.Bundle, func(t *testing.T, subj registry.Subject) {
			storeBundle(t, subj, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
			signBundle(other)(t, subj)
		}, demoPolicy, verify.OtherIdentity},
		{"an invalid signature", sign.Bundle, func(t *testing.T, subj registry.Subject) {
			b := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
			b.sig = flip(b.sig)
			storeBundle(t, subj, b.bundleJSON(t))
		}, demoPolicy, verify.Invalid},
		{"the referrer's manifest is gone from the fallback index", sign.Bundle, func(t *testing.T, subj registry.Subject) {
			signBundle(f.signer())(t, subj)
			raws, err := store.ReadReferrers(context.Background(), subj.Digest, "", 1<<20)
			if err != nil || len(raws) != 1 {
				t.Fatalf("reading the referrer: %v %v", raws, err)
			}
			if err := remote.Delete(mustDigest(t, raws[0].Location)); err != nil {
				t.Fatal(err)
			}
		}, demoPolicy, verify.Dangling},
		{"the .sig tag's layer blob is gone", sign.Legacy, func(t *testing.T, subj registry.Subject) {
			signLegacy(f.signer())(t, subj)
			img, err := remote.Image(store.TagOf(subj.Digest, "sig"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			deleteBlob(t, subj.Digest.Context(), m.Layers[0].Digest)
		}, demoPolicy, verify.Dangling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subj := f.subject(t)
			tc.store(t, subj)
			v, err := verify.New(f.trust(), tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(context.Background(), subj, payload.Signature{}, tc.format)
			if tc.want == verify.Dangling && err == nil {
				t.Errorf("Verify() error = nil, want the registry's error")
			}
			if diff := cmp.Diff(tc.want, res.Cause); diff != "" {
				t.Errorf("cause (-want +got):\n%s\nreasons %q, error %v", diff, res.Reasons, err)
			}
			if res.Verified != (tc.want == "") {
				t.Errorf("Verified = %v with cause %q", res.Verified, res.Cause)
			}
		})
	}
}

// TestVerifyCauseUnreadable: a registry that fails is unreadable, not
// absent and not dangling.
func TestVerifyCauseUnreadable(t *testing.T) {
	f := newFake(t)
	subj := f.subject(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/") && r.URL.Path != "/v2/" {
			http.Error(w, "down", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	d, err := name.NewDigest(strings.TrimPrefix(srv.URL, "http://") + "/keyless/app@" + subj.Digest.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(f.trust(), demoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		res, err := v.Verify(context.Background(), registry.Subject{Digest: d}, payload.Signature{}, format)
		if err == nil || res.Cause != verify.Unreadable {
			t.Errorf("%s: cause %q, error %v; want unreadable and the error", format, res.Cause, err)
		}
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deleteBlob deletes a blob of repo through the registry API.
func deleteBlob(t *testing.T, repo name.Repository, h v1.Hash) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, "http://"+repo.RegistryStr()+"/v2/"+repo.RepositoryStr()+"/blobs/"+h.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting blob %s: HTTP %d", h, resp.StatusCode)
	}
}
