package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// TestPolicyTesterAdmits feeds the ClusterImagePolicy and TrustRoot that
// keyless generated to sigstore policy-controller's own policy-tester: the
// signed image is admitted; an unsigned image and one signed by another
// identity, in the same repository, are refused.
func TestPolicyTesterAdmits(t *testing.T) {
	tester := filepath.Join(stk.Tools, "policy-tester")
	if _, err := os.Stat(tester); err != nil {
		t.Fatalf("policy-tester not built (run e2e/tools/build.sh): %v", err)
	}
	signed := pushImage(t)
	r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfigAll), map[string]string{"images": signed, "signature-format": "both"})))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
	policy, trustRoot := writeClusterImagePolicy(t, r, nil)
	repo := signed[:strings.Index(signed, "@")]
	unsigned, err := stk.PushRandomImage(t.Context(), strings.TrimPrefix(repo, stk.Registry+"/"), "unsigned")
	if err != nil {
		t.Fatal(err)
	}
	other, err := stk.PushRandomImage(t.Context(), strings.TrimPrefix(repo, stk.Registry+"/"), "other")
	if err != nil {
		t.Fatal(err)
	}
	keylessSign(t, "both", false, other, stack.WithClaims(map[string]any{"repository": "keyless-dev/other"}))
	for _, tc := range []struct {
		name, image string
		admit       bool
	}{
		{"signed by this identity", signed, true},
		{"unsigned", unsigned, false},
		{"signed by another identity", other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admitted, out := policyTester(t, tester, policy, trustRoot, tc.image)
			if admitted != tc.admit {
				t.Errorf("policy-tester admitted=%v, want %v\n%s", admitted, tc.admit, out)
			}
		})
	}
}

// TestPolicyTesterBundleOnly pins what policy-controller v0.13.1 does with
// image signatures in the bundle format: it verifies them only from
// cosign's .sig tag. A bundle-only image is refused even with
// signatureFormat: bundle ("bundle support for image signatures is not
// yet implemented"), and the same image, signed again with
// signature-format both, is admitted. When a release lifts the limit, the
// first case fails.
func TestPolicyTesterBundleOnly(t *testing.T) {
	tester := filepath.Join(stk.Tools, "policy-tester")
	if _, err := os.Stat(tester); err != nil {
		t.Fatalf("policy-tester not built (run e2e/tools/build.sh): %v", err)
	}
	img := pushImage(t)
	r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "signature-format": "bundle"})))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
	policy, trustRoot := writeClusterImagePolicy(t, r, func(cip map[string]any) {
		auth := cip["spec"].(map[string]any)["authorities"].([]any)[0].(map[string]any)
		auth["signatureFormat"] = "bundle"
	})
	admitted, out := policyTester(t, tester, policy, trustRoot, img)
	const limit = "bundle support for image signatures is not yet implemented"
	if admitted || !strings.Contains(out, limit) {
		t.Errorf("bundle-only image: policy-tester admitted=%v, want refused with %q\n%s", admitted, limit, out)
	}

	r = runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfigAll), map[string]string{"images": img, "signature-format": "both"})))
	if r.code != 0 {
		t.Fatalf("keyless sign both: exit %d\n%s", r.code, r.stderr)
	}
	policy, trustRoot = writeClusterImagePolicy(t, r, nil)
	if admitted, out := policyTester(t, tester, policy, trustRoot, img); !admitted {
		t.Errorf("same image signed with both: policy-tester refused it\n%s", out)
	}
}

// writeClusterImagePolicy writes the ClusterImagePolicy and TrustRoot of a
// run to files, after edit (when not nil) changes the parsed policy.
func writeClusterImagePolicy(t *testing.T, r result, edit func(map[string]any)) (policy, trustRoot string) {
	t.Helper()
	docs := strings.SplitN(r.files["workspace/"+r.outputs["cluster-image-policy"]], "\n---\n", 2)
	if len(docs) != 2 {
		t.Fatalf("cluster-image-policy output holds %d documents, want the policy and its TrustRoot", len(docs))
	}
	if edit != nil {
		var cip map[string]any
		if err := yaml.Unmarshal([]byte(docs[0]), &cip); err != nil {
			t.Fatal(err)
		}
		edit(cip)
		b, err := yaml.Marshal(cip)
		if err != nil {
			t.Fatal(err)
		}
		docs[0] = string(b)
	}
	dir := t.TempDir()
	policy, trustRoot = filepath.Join(dir, "cip.yaml"), filepath.Join(dir, "trustroot.yaml")
	for p, doc := range map[string]string{policy: docs[0], trustRoot: docs[1]} {
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return policy, trustRoot
}

// policyTester runs policy-controller's policy-tester and reports whether
// it admitted image.
func policyTester(t *testing.T, tester, policy, trustRoot, image string) (bool, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tester, "-policy", policy, "-trustroot", trustRoot, "-image", image)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	return err == nil && strings.Contains(string(out), "Verification was successful"), string(out)
}
