package e2e

import (
	"slices"
	"testing"
)

// signV3 signs ref with cosign v3 in the bundle format (Rekor v2 + TSA via
// the signing config) using a freshly minted token of kind.
func signV3(t *testing.T, ref, kind string) {
	t.Helper()
	signV3With(t, ref, kind, stk.SigningConfig)
}

func signV3With(t *testing.T, ref, kind, signingConfig string) {
	t.Helper()
	mustCosign(t, stk.CosignV3, slices.Concat([]string{"sign", "-y",
		"--identity-token=" + mintFile(t, kind),
		"--trusted-root=" + stk.TrustedRoot,
		"--signing-config=" + signingConfig,
	}, registryFlags, []string{ref})...)
}

// verifyV3Args are the cosign v3 verify arguments for an identity.
func verifyV3Args(ref, identity, issuer string) []string {
	return slices.Concat([]string{"verify",
		"--trusted-root=" + stk.TrustedRoot,
		"--certificate-identity=" + identity,
		"--certificate-oidc-issuer=" + issuer,
	}, registryFlags, []string{ref})
}

func TestCosignV3BundleRekorV2(t *testing.T) {
	ref := pushImage(t)
	signV3(t, ref, "github")
	assertBundle(t, ref, map[string]string{stk.RekorURL: "0.0.2"})

	out := mustCosign(t, stk.CosignV3, verifyV3Args(ref, githubIdentity, stk.OIDCIssuerGitHub)...)
	t.Logf("verify: %s", out)

	t.Run("wrong identity", func(t *testing.T) {
		mustFailCosign(t, stk.CosignV3, verifyV3Args(ref,
			"https://github.com/keyless-dev/other/.github/workflows/release.yml@refs/heads/main", stk.OIDCIssuerGitHub)...)
	})
	t.Run("wrong issuer", func(t *testing.T) {
		mustFailCosign(t, stk.CosignV3, verifyV3Args(ref, githubIdentity, stk.OIDCIssuerGitLab)...)
	})
	t.Run("cosign v2 verifies it with signed timestamps", func(t *testing.T) {
		// Rekor v2 entries carry no integrated time: v2.6.5 must be told
		// to use the TSA timestamp.
		mustCosign(t, stk.CosignV2, slices.Concat([]string{"verify", "--new-bundle-format", "--use-signed-timestamps",
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + githubIdentity,
			"--certificate-oidc-issuer=" + stk.OIDCIssuerGitHub,
		}, registryFlags, []string{ref})...)
	})
}

// TestCosignV3BothRekors signs with signing_config_all.json, which lists
// both Rekors: cosign v3 (sigstore-go) picks the highest API version it
// supports, Rekor v2, and ignores v1.
func TestCosignV3BothRekors(t *testing.T) {
	ref := pushImage(t)
	signV3With(t, ref, "github", stk.SigningConfigAll)
	assertBundle(t, ref, map[string]string{stk.RekorURL: "0.0.2"})
	mustCosign(t, stk.CosignV3, verifyV3Args(ref, githubIdentity, stk.OIDCIssuerGitHub)...)
}

// TestTokenKinds checks that Fulcio issues certificates for all three token
// kinds with the expected SAN, asserted through verify's identity match.
func TestTokenKinds(t *testing.T) {
	for _, tc := range []struct {
		kind, identity, issuer string
	}{
		{"github", githubIdentity, stk.OIDCIssuerGitHub},
		{"gitlab", gitlabIdentity, stk.OIDCIssuerGitLab},
		{"kubernetes", kubernetesIdentity, stk.OIDCIssuerKubernetes},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			ref := pushImage(t)
			signV3(t, ref, tc.kind)
			mustCosign(t, stk.CosignV3, verifyV3Args(ref, tc.identity, tc.issuer)...)
		})
	}
}

// signV2Legacy signs ref with cosign v2 in the legacy .sig format, logged
// in Rekor v1 and timestamped, using a freshly minted token of kind.
func signV2Legacy(t *testing.T, ref, kind string) {
	t.Helper()
	mustCosign(t, stk.CosignV2, slices.Concat([]string{"sign", "-y",
		"--identity-token=" + mintFile(t, kind),
		"--fulcio-url=" + stk.FulcioURL,
		"--rekor-url=" + stk.RekorV1URL,
		"--timestamp-server-url=" + stk.TSAURL,
		"--trusted-root=" + stk.TrustedRoot,
		"--tlog-upload=true",
	}, registryFlags, []string{ref})...)
}

// legacyVerifyArgs are the cosign v2 verify arguments for an identity.
func legacyVerifyArgs(ref, identity, issuer string) []string {
	return slices.Concat([]string{"verify",
		"--trusted-root=" + stk.TrustedRoot,
		"--certificate-identity=" + identity,
		"--certificate-oidc-issuer=" + issuer,
		"--rekor-url=" + stk.RekorV1URL,
	}, registryFlags, []string{ref})
}

func TestCosignV2LegacyRekorV1(t *testing.T) {
	ref := pushImage(t)
	signV2Legacy(t, ref, "github")
	assertLegacySignature(t, ref)

	out := mustCosign(t, stk.CosignV2, legacyVerifyArgs(ref, githubIdentity, stk.OIDCIssuerGitHub)...)
	t.Logf("verify: %s", out)

	t.Run("wrong identity", func(t *testing.T) {
		mustFailCosign(t, stk.CosignV2, legacyVerifyArgs(ref,
			"https://github.com/keyless-dev/other/.github/workflows/release.yml@refs/heads/main", stk.OIDCIssuerGitHub)...)
	})
	t.Run("wrong issuer", func(t *testing.T) {
		mustFailCosign(t, stk.CosignV2, legacyVerifyArgs(ref, githubIdentity, stk.OIDCIssuerKubernetes)...)
	})
	t.Run("cosign v3 verifies it too", func(t *testing.T) {
		mustCosign(t, stk.CosignV3, verifyV3Args(ref, githubIdentity, stk.OIDCIssuerGitHub)...)
	})
}
