package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestTrustFromTUFRepository signs and verifies with the trust material of
// a private Sigstore read through its TUF repository (tuf-mirror and
// tuf-root, as cosign initialize takes them) instead of a trusted_root.json
// file: the repository the e2e tests build with go-tuf and serve on
// 127.0.0.1, holding the stack's trusted root. The same repository is
// written into the ImageValidatingPolicy, whose inline trusted root is the
// one read through TUF. A TUF root that does not sign the repository fails
// closed.
func TestTrustFromTUFRepository(t *testing.T) {
	repo := kyvernoTUFRepository(t)
	img := pushImage(t)
	tuf := map[string]string{"tuf-mirror": repo.mirror, "tuf-root": repo.root}
	signed := runKeyless(t, githubEnv(merge(tuf, map[string]string{
		"images": img, "signature-format": "both", "signing-config": stk.SigningConfigAll,
	})))
	if signed.code != 0 {
		t.Fatalf("keyless sign with the TUF repository's trust material: exit %d\n%s", signed.code, signed.stderr)
	}
	for _, want := range []string{"TUF repository " + repo.mirror} {
		if !strings.Contains(signed.outputs["result"], want) {
			t.Errorf("the report's trust does not name %q:\n%s", want, signed.outputs["result"])
		}
	}
	policy := signed.files["workspace/"+signed.outputs["kyverno-policy"]]
	for _, want := range []string{"mirror: " + repo.mirror, "trustedRoot:"} {
		if !strings.Contains(policy, want) {
			t.Errorf("the ImageValidatingPolicy lacks %q:\n%s", want, policy)
		}
	}

	verify := func(root string) result {
		return runKeyless(t, map[string]string{"KEYLESS_PLATFORM": "cli"}, "verify",
			"--tuf-mirror", repo.mirror, "--tuf-root", root,
			"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), img)
	}
	if r := verify(repo.root); r.code != 0 {
		t.Fatalf("keyless verify with the TUF repository's trust material: exit %d\n%s", r.code, r.stderr)
	}
	// Another repository's root (a TUF root whose keys did not sign this
	// one) cannot start the client: no trust material, no verification.
	other := kyvernoOtherTUFRoot(t)
	if r := verify(other); r.code == 0 || !strings.Contains(r.stderr, "TUF repository") {
		t.Fatalf("keyless verify with another TUF root: exit %d, want a failure naming the TUF repository\n%s", r.code, r.stderr)
	}
}

// kyvernoOtherTUFRoot writes the root.json of another TUF repository, one
// that did not sign the served repository.
func kyvernoOtherTUFRoot(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(kyvernoTUFRepository(t).root)
	if err != nil {
		t.Fatal(err)
	}
	// Same shape, another key id under root's role: the signatures over
	// the served metadata no longer count.
	var changed string
	if i := strings.Index(string(b), `"keyids":["`); i >= 0 {
		j := i + len(`"keyids":["`)
		changed = string(b[:j]) + strings.Repeat("0", 64) + string(b[j+64:])
	} else {
		t.Fatalf("root.json has no keyids list:\n%s", b)
	}
	p := t.TempDir() + "/root.json"
	if err := os.WriteFile(p, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
