package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	docs := strings.SplitN(r.files["workspace/"+r.outputs["cluster-image-policy"]], "\n---\n", 2)
	if len(docs) != 2 {
		t.Fatalf("cluster-image-policy output holds %d documents, want the policy and its TrustRoot", len(docs))
	}
	dir := t.TempDir()
	policy, trustRoot := filepath.Join(dir, "cip.yaml"), filepath.Join(dir, "trustroot.yaml")
	for p, doc := range map[string]string{policy: docs[0], trustRoot: docs[1]} {
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
			cmd := exec.CommandContext(t.Context(), tester, "-policy", policy, "-trustroot", trustRoot, "-image", tc.image)
			cmd.Env = []string{"HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if admitted := err == nil && strings.Contains(string(out), "Verification was successful"); admitted != tc.admit {
				t.Errorf("policy-tester admitted=%v, want %v\n%s", admitted, tc.admit, out)
			}
		})
	}
}
