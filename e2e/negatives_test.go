package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/store"
)

// modifiedRoot writes a copy of the stack's trusted root changed by edit.
func modifiedRoot(t *testing.T, edit func(tr map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	edit(tr)
	out, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfMadeCA is a CA certificate (DER) that no one trusts.
func selfMadeCA(t *testing.T) []byte {
	t.Helper()
	k := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigstore", Organization: []string{"sigstore.dev"}},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func subjectOf(t *testing.T, ref string) registry.Subject {
	t.Helper()
	s, err := registry.Resolve(context.Background(), []string{ref}, false)
	if err != nil || len(s) != 1 {
		t.Fatalf("resolving %s: %v %v", ref, s, err)
	}
	return s[0]
}

// replaceBundles makes bundles the only bundle referrers of ref: it empties
// the tag-schema referrers index the stack's registry serves, then writes
// each bundle as a referrer.
func replaceBundles(t *testing.T, ref string, bundles ...[]byte) {
	t.Helper()
	subj := subjectOf(t, ref)
	tag := subj.Digest.Context().Tag(strings.Replace(subj.Digest.DigestStr(), ":", "-", 1))
	if err := remote.WriteIndex(tag, mutate.IndexMediaType(empty.Index, types.OCIImageIndex)); err != nil {
		t.Fatalf("emptying %s: %v", tag, err)
	}
	for _, b := range bundles {
		if _, err := store.WriteReferrer(context.Background(), subj, b, payload.SignPredicateType, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// replaceLegacy makes one layer (payload, annotations) the only legacy
// signature of ref.
func replaceLegacy(t *testing.T, ref string, payload []byte, ann map[string]string) {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(store.TagOf(d, "sig")); err != nil {
		// Not every registry deletes by tag: overwrite with an empty image.
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		if err := remote.Write(store.TagOf(d, "sig"), base); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.AppendLayer(context.Background(), store.TagOf(d, "sig"), payload, store.SimpleSigningMediaType, ann); err != nil {
		t.Fatal(err)
	}
}

// legacyLayer reads ref's single legacy signature.
func legacyLayer(t *testing.T, ref string) ([]byte, map[string]string) {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.ReadLayers(context.Background(), store.TagOf(d, "sig"), store.SimpleSigningMediaType, registry.MaxBlobSize, nil)
	if err != nil || len(st) != 1 {
		t.Fatalf("legacy signatures of %s: %d, %v", ref, len(st), err)
	}
	return st[0].Blob, st[0].Annotations
}

// onlyBundle reads ref's single bundle as JSON.
func onlyBundle(t *testing.T, ref string) map[string]any {
	t.Helper()
	bs, err := stk.Bundles(context.Background(), ref)
	if err != nil || len(bs) != 1 {
		t.Fatalf("bundles of %s: %d, %v", ref, len(bs), err)
	}
	var m map[string]any
	if err := json.Unmarshal(bs[0], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flipB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

// TestNegatives covers issue 7 with real signatures from the stack:
// keyless signs, the test tampers with what is in the registry or with a
// copy of the trusted root, and keyless verify must exit 1 with the reason.
func TestNegatives(t *testing.T) {
	issuer := stk.Issuer("github")
	policy := []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer}

	// Bundles: Rekor v2 + TSA. Legacy: Rekor v1 + TSA.
	bundleA, bundleB, legacyA, legacyB := pushImage(t), pushImage(t), pushImage(t), pushImage(t)
	keylessSign(t, "bundle", false, bundleA)
	keylessSign(t, "bundle", false, bundleB)
	keylessSign(t, "legacy", false, legacyA)
	keylessSign(t, "legacy", false, legacyB)
	for _, ref := range []string{bundleA, legacyA} {
		if r, _ := verifyRun(t, append(policy, ref)...); r.code != 0 {
			t.Fatalf("untampered %s does not verify: exit %d\n%s", ref, r.code, r.stderr)
		}
	}

	for _, tc := range []struct {
		name   string
		format string
		setup  func(t *testing.T) (ref, trustedRoot string)
		want   []string // in stderr
	}{
		{
			name: "DSSE signature flipped in the stored bundle", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				ref := pushImage(t)
				keylessSign(t, "bundle", false, ref)
				b := onlyBundle(t, ref)
				sig := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
				sig["sig"] = flipB64(t, sig["sig"].(string))
				replaceBundles(t, ref, mustMarshal(t, b))
				return ref, stk.TrustedRoot
			},
			// Rekor v2 entries commit to the signature: the entry rebuilt
			// from the tampered bundle is not the one in the log.
			want: []string{"failed to verify log inclusion", "verifying log entry"},
		},
		{
			name: "legacy signature annotation flipped", format: "legacy",
			setup: func(t *testing.T) (string, string) {
				ref := pushImage(t)
				keylessSign(t, "legacy", false, ref)
				payload, ann := legacyLayer(t, ref)
				ann[store.AnnotationSignature] = flipB64(t, ann[store.AnnotationSignature])
				replaceLegacy(t, ref, payload, ann)
				return ref, stk.TrustedRoot
			},
			want: []string{"transparency log signature does not match"},
		},
		{
			name: "bundle of another image stored as a referrer of this one", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				ref := pushImage(t)
				bs, err := stk.Bundles(context.Background(), bundleA)
				if err != nil || len(bs) != 1 {
					t.Fatalf("bundles of %s: %d, %v", bundleA, len(bs), err)
				}
				replaceBundles(t, ref, bs[0])
				return ref, stk.TrustedRoot
			},
			want: []string{"failed to verify signature", "artifact digest"},
		},
		{
			name: "bundle with the tlog entry of another bundle", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				ref := pushImage(t)
				keylessSign(t, "bundle", false, ref)
				b := onlyBundle(t, ref)
				other := onlyBundle(t, bundleB)
				b["verificationMaterial"].(map[string]any)["tlogEntries"] = other["verificationMaterial"].(map[string]any)["tlogEntries"]
				replaceBundles(t, ref, mustMarshal(t, b))
				return ref, stk.TrustedRoot
			},
			want: []string{"failed to verify log inclusion", "verifying log entry"},
		},
		{
			name: "legacy signature with the dev.sigstore.cosign/bundle annotation of another signature", format: "legacy",
			setup: func(t *testing.T) (string, string) {
				ref := pushImage(t)
				keylessSign(t, "legacy", false, ref)
				payload, ann := legacyLayer(t, ref)
				_, other := legacyLayer(t, legacyB)
				ann[store.AnnotationBundle] = other[store.AnnotationBundle]
				replaceLegacy(t, ref, payload, ann)
				return ref, stk.TrustedRoot
			},
			want: []string{"transparency log signature does not match"},
		},
		{
			name: "trusted root whose Fulcio CA is replaced by a generated one", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				der := selfMadeCA(t)
				return bundleA, modifiedRoot(t, func(tr map[string]any) {
					ca := tr["certificateAuthorities"].([]any)[0].(map[string]any)
					ca["certChain"] = map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}}}
				})
			},
			want: []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		{
			name: "legacy, trusted root whose Fulcio CA is replaced by a generated one", format: "legacy",
			setup: func(t *testing.T) (string, string) {
				der := selfMadeCA(t)
				return legacyA, modifiedRoot(t, func(tr map[string]any) {
					ca := tr["certificateAuthorities"].([]any)[0].(map[string]any)
					ca["certChain"] = map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}}}
				})
			},
			want: []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		{
			// The CT log keeps its log ID, so the certificate's SCT names
			// it, but its key is replaced: the SCT cannot verify.
			name: "trusted root whose CT log key is replaced", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				der, err := x509.MarshalPKIXPublicKey(&newECKey(t).PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				return bundleA, modifiedRoot(t, func(tr map[string]any) {
					ct := tr["ctlogs"].([]any)[0].(map[string]any)
					ct["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(der)
				})
			},
			want: []string{"failed to verify signed certificate timestamp"},
		},
		{
			// Rekor v2 has no signed integrated time: the TSA timestamp is
			// the only signing time.
			name: "Rekor v2 + TSA bundle, trusted root without the TSA", format: "bundle",
			setup: func(t *testing.T) (string, string) {
				return bundleA, modifiedRoot(t, func(tr map[string]any) { tr["timestampAuthorities"] = []any{} })
			},
			want: []string{"threshold not met for verified signed & log entry integrated timestamps: 0 < 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, tr := tc.setup(t)
			r, rep := verifyWith(t, tr, append([]string{"--signature-format", tc.format}, append(policy, ref)...)...)
			if r.code != 1 || rep["verified"] != false {
				t.Fatalf("exit %d, verified %v; want exit 1, not verified\n%s", r.code, rep["verified"], r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
