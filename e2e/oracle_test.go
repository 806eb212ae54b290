package e2e

import (
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	cosignlib "github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/tuf"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// TestCosignLibraryOracle verifies what keyless wrote with cosign v3's
// pkg/cosign, in process: VerifyImageSignatures is the call Kyverno (type
// Cosign) and policy-controller make for image signatures, and
// VerifyImageAttestations with NewBundleFormat is what the cosign v3 CLI
// calls for a Sigstore bundle referrer. Each accepts the identity that
// signed and rejects another. VerifyImageSignatures has no bundle support
// (policy-controller's refusal comes from it): that is pinned too.
func TestCosignLibraryOracle(t *testing.T) {
	tr, err := root.NewTrustedRootFromPath(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	legacy, bundle, both := pushImage(t), pushImage(t), pushImage(t)
	keylessSign(t, "legacy", false, legacy)
	keylessSign(t, "bundle", false, bundle)
	keylessSign(t, "both", false, both)
	other := pushImage(t)
	keylessSign(t, "both", false, other, stack.WithClaims(map[string]any{"repository": "keyless-dev/other"}))

	opts := func(bundleFormat bool, subject string) *cosignlib.CheckOpts {
		co := &cosignlib.CheckOpts{
			TrustedMaterial: tr,
			NewBundleFormat: bundleFormat,
			Identities:      []cosignlib.Identity{{Issuer: stk.Issuer("github"), Subject: subject}},
			ClaimVerifier:   cosignlib.SimpleClaimVerifier,
		}
		if bundleFormat {
			co.ClaimVerifier = cosignlib.IntotoSubjectClaimVerifier
		}
		return co
	}
	signatures := func(t *testing.T, ref string, co *cosignlib.CheckOpts) error {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		sigs, _, err := cosignlib.VerifyImageSignatures(t.Context(), r, co)
		if err == nil && len(sigs) == 0 {
			err = errors.New("no signature verified")
		}
		return err
	}
	attestations := func(t *testing.T, ref string, co *cosignlib.CheckOpts) error {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		atts, _, err := cosignlib.VerifyImageAttestations(t.Context(), r, co)
		if err == nil && len(atts) == 0 {
			err = errors.New("no bundle verified")
		}
		return err
	}
	for _, tc := range []struct {
		name    string
		verify  func(*testing.T, string, *cosignlib.CheckOpts) error
		bundle  bool
		image   string
		subject string
		wantErr string // "" to accept
	}{
		{"legacy, signed", signatures, false, legacy, githubIdentity, ""},
		{"both, .sig signed", signatures, false, both, githubIdentity, ""},
		{"legacy, another identity", signatures, false, other, githubIdentity, "none of the expected identities matched"},
		{"legacy, bundle-only image", signatures, false, bundle, githubIdentity, "no signatures found"},
		{"bundle, signed", attestations, true, bundle, githubIdentity, ""},
		{"both, bundle signed", attestations, true, both, githubIdentity, ""},
		{"bundle, another identity", attestations, true, other, githubIdentity, "no matching CertificateIdentity found"},
		{"bundle, legacy-only image", attestations, true, legacy, githubIdentity, "no valid"},
		{"bundle through VerifyImageSignatures", signatures, true, bundle, githubIdentity, "bundle support for image signatures is not yet implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.verify(t, tc.image, opts(tc.bundle, tc.subject))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("verify %s: %v, want it accepted", tc.image, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("verify %s: err = %v, want %q", tc.image, err, tc.wantErr)
			}
		})
	}
}

// TestCosignLibraryKyvernoKeys verifies a "both" image the way Kyverno
// type Cosign calls cosign: with keys, not a trusted root. With the key
// of the Rekor v1 log the .sig was logged in it is accepted; with the
// Rekor v2 log's key (what the policy once carried) it is refused.
func TestCosignLibraryKyvernoKeys(t *testing.T) {
	tr, err := root.NewTrustedRootFromPath(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	keylessSign(t, "both", false, img)
	ref, err := name.ParseReference(img)
	if err != nil {
		t.Fatal(err)
	}
	rootsPool, intermediates := x509.NewCertPool(), x509.NewCertPool()
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f := ca.(*root.FulcioCertificateAuthority)
		rootsPool.AddCert(f.Root)
		for _, c := range f.Intermediates {
			intermediates.AddCert(c)
		}
	}
	ctKeys := cosignlib.NewTrustedTransparencyLogPubKeys()
	for _, l := range tr.CTLogs() {
		if err := ctKeys.AddTransparencyLogPubKey(pemKey(t, l.PublicKey), tuf.Active); err != nil {
			t.Fatal(err)
		}
	}
	logKey := func(url string) *cosignlib.TrustedTransparencyLogPubKeys {
		keys := cosignlib.NewTrustedTransparencyLogPubKeys()
		for _, l := range tr.RekorLogs() {
			if strings.TrimSuffix(l.BaseURL, "/") == strings.TrimSuffix(url, "/") {
				if err := keys.AddTransparencyLogPubKey(pemKey(t, l.PublicKey), tuf.Active); err != nil {
					t.Fatal(err)
				}
			}
		}
		return &keys
	}
	for _, tc := range []struct {
		name   string
		rekor  string
		accept bool
	}{
		{"Rekor v1 key", stk.RekorV1URL, true},
		{"Rekor v2 key", stk.RekorURL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co := &cosignlib.CheckOpts{
				RootCerts: rootsPool, IntermediateCerts: intermediates,
				RekorPubKeys: logKey(tc.rekor), CTLogPubKeys: &ctKeys,
				Identities:    []cosignlib.Identity{{Issuer: stk.Issuer("github"), Subject: githubIdentity}},
				ClaimVerifier: cosignlib.SimpleClaimVerifier,
				Offline:       true,
			}
			_, _, err := cosignlib.VerifyImageSignatures(t.Context(), ref, co)
			if (err == nil) != tc.accept {
				t.Errorf("verify with the %s: err = %v, want accepted=%v", tc.name, err, tc.accept)
			}
		})
	}
}

// pemKey PEM-encodes a public key.
func pemKey(t *testing.T, k crypto.PublicKey) []byte {
	t.Helper()
	b, err := cryptoutils.MarshalPublicKeyToPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
