package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// e2ePredicateType is the custom predicate type of the attestation test.
const e2ePredicateType = "https://keyless.dev/e2e/custom/v1"

// customPredicate is a small custom attestation kind.
type customPredicate struct{}

func (customPredicate) PredicateType() string { return e2ePredicateType }

func (k customPredicate) Statement(d name.Digest) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(map[string]any{
		"_type": payload.StatementType, "predicateType": k.PredicateType(),
		"subject":   []any{map[string]any{"digest": map[string]string{alg: hex}}},
		"predicate": map[string]any{"builder": map[string]string{"id": "https://keyless.dev/e2e"}, "step": 1},
	})
}

// TestAttestStores signs an in-toto attestation of a custom predicate with
// the Go packages in both stores (the bundle referrer with Rekor v2, the
// .att tag with Rekor v1), reads it back with keyless's verifier, and has
// cosign v3 (verify-attestation --new-bundle-format) and cosign v2
// (verify-attestation of the .att, whose Rekor entry is sigstore-go's dsse
// v0.0.1) accept it for the signer and refuse another identity.
func TestAttestStores(t *testing.T) {
	ctx := context.Background()
	m, err := trust.Load(trust.Config{TrustedRoot: stk.TrustedRoot, SigningConfig: stk.SigningConfigAll}, true)
	if err != nil {
		t.Fatal(err)
	}
	formats := []sign.Format{sign.Bundle, sign.Legacy}
	s, err := sign.New(mint(t, "github"), m, formats)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(m.Root, verify.Policy{Identity: githubIdentity, Issuer: stk.OIDCIssuerGitHub})
	if err != nil {
		t.Fatal(err)
	}
	// ref gets both stores; legacyRef the .att alone: cosign v2.6.5 reads
	// the bundle referrers instead of the .att whenever there are any.
	ref, legacyRef := pushImage(t), pushImage(t)
	for _, tc := range []struct {
		ref     string
		formats []sign.Format
	}{{ref, formats}, {legacyRef, []sign.Format{sign.Legacy}}} {
		subj := subjectOf(t, tc.ref)
		for _, f := range tc.formats {
			sig, err := s.Sign(ctx, subj, customPredicate{}, f)
			if err != nil {
				t.Fatalf("Sign(%s): %v", f, err)
			}
			t.Logf("%s: %s, log entry %d in %s", f, sig.Location, sig.LogIndex, sig.LogURL)
			res, err := v.Exact().Verify(ctx, subj, customPredicate{}, f)
			if err != nil || !res.Verified || res.PredicateType != e2ePredicateType {
				t.Fatalf("keyless Verify(%s) = %+v, %v; want verified with the predicate", f, res, err)
			}
		}
	}

	v3 := func(identity string) []string {
		return slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=" + e2ePredicateType,
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + identity,
			"--certificate-oidc-issuer=" + stk.OIDCIssuerGitHub,
		}, registryFlags, []string{ref})
	}
	v2 := func(ref, identity string, flags ...string) []string { // with the trusted root: through the bundle
		return slices.Concat([]string{"verify-attestation", "--type=" + e2ePredicateType,
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + identity,
			"--certificate-oidc-issuer=" + stk.OIDCIssuerGitHub,
			"--rekor-url=" + stk.RekorV1URL,
		}, flags, registryFlags, []string{ref})
	}
	const other = "https://github.com/keyless-dev/other/.github/workflows/release.yml@refs/heads/main"
	t.Run("cosign v3 verify-attestation --new-bundle-format", func(t *testing.T) {
		mustCosign(t, stk.CosignV3, v3(githubIdentity)...)
		mustFailCosign(t, stk.CosignV3, v3(other)...)
	})
	t.Run("cosign v2 verify-attestation of the .att", func(t *testing.T) {
		// verify-attestation of the legacy layout takes no --trusted-root:
		// the same trust goes in through cosign's environment variables.
		env := legacyTrustEnv(t)
		args := func(identity string) []string {
			return slices.Concat([]string{"verify-attestation", "--type=" + e2ePredicateType,
				"--certificate-identity=" + identity,
				"--certificate-oidc-issuer=" + stk.OIDCIssuerGitHub,
				// --offline: the dsse entry in the layer's bundle
				// annotation must do, without a Rekor lookup.
				"--offline", "--rekor-url=" + stk.RekorV1URL,
			}, registryFlags, []string{legacyRef})
		}
		out, err := cosignWithEnv(t, env, stk.CosignV2, args(githubIdentity)...)
		if err != nil {
			t.Fatalf("cosign v2 verify-attestation: %v\n%s", err, out)
		}
		if !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(`{"_type"`))[:8]) {
			t.Errorf("cosign v2 printed no attestation:\n%s", out)
		}
		if out, err := cosignWithEnv(t, env, stk.CosignV2, args(other)...); err == nil {
			t.Errorf("cosign v2 verify-attestation accepted another identity:\n%s", out)
		}
	})
	t.Run("cosign v2 verify-attestation of both, through the bundle", func(t *testing.T) {
		// Rekor v2 entries carry no integrated time: v2.6.5 must be told
		// to use the TSA timestamp.
		mustCosign(t, stk.CosignV2, v2(ref, githubIdentity, "--use-signed-timestamps")...)
	})
}

// cosignWithEnv runs a cosign binary like cosign, with env added.
func cosignWithEnv(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cosignEnv(t), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// legacyTrustEnv writes the stack's trusted root as the files cosign v2's
// legacy verification reads (Fulcio certificates, the Rekor v1 key, the CT
// log key) and returns the environment variables naming them.
func legacyTrustEnv(t *testing.T) []string {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(file string, blocks ...*pem.Block) string {
		var b bytes.Buffer
		for _, blk := range blocks {
			if err := pem.Encode(&b, blk); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pub := func(k crypto.PublicKey) *pem.Block {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	}
	var certs []*pem.Block
	for _, ca := range tr.FulcioCertificateAuthorities() {
		fca, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			continue
		}
		for _, c := range append(append([]*x509.Certificate{}, fca.Intermediates...), fca.Root) {
			certs = append(certs, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
	}
	var rekor, ct []*pem.Block
	for _, l := range tr.RekorLogs() {
		if strings.TrimSuffix(l.BaseURL, "/") == strings.TrimSuffix(stk.RekorV1URL, "/") {
			rekor = append(rekor, pub(l.PublicKey))
		}
	}
	for _, l := range tr.CTLogs() {
		ct = append(ct, pub(l.PublicKey))
	}
	if len(certs) == 0 || len(rekor) != 1 || len(ct) == 0 {
		t.Fatalf("trusted root: %d Fulcio certificates, %d Rekor v1 keys, %d CT keys", len(certs), len(rekor), len(ct))
	}
	return []string{
		"SIGSTORE_ROOT_FILE=" + write("fulcio.pem", certs...),
		"SIGSTORE_REKOR_PUBLIC_KEY=" + write("rekor.pem", rekor...),
		"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + write("ct.pem", ct[0]),
	}
}

// tsaChainFile writes the stack's timestamp authority chain (leaf,
// intermediates, root) as cosign v2's --timestamp-certificate-chain reads
// it, and returns its path.
func tsaChainFile(t *testing.T) string {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, ta := range tr.TimestampingAuthorities() {
		sta, ok := ta.(*root.SigstoreTimestampingAuthority)
		if !ok || sta.Root == nil {
			continue
		}
		chain := append(append([]*x509.Certificate{sta.Leaf}, sta.Intermediates...), sta.Root)
		for _, c := range chain {
			if c == nil {
				continue
			}
			if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
				t.Fatal(err)
			}
		}
		break
	}
	if b.Len() == 0 {
		t.Fatal("the trusted root has no timestamp authority")
	}
	path := filepath.Join(t.TempDir(), "tsa-chain.pem")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
