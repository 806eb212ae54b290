package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKyvernoAttestations applies the ClusterPolicy (kyverno-cluster-policy) of a run that signed
// image A with provenance, in every format, with the real Kyverno CLI:
// its attestations block requires the provenance by the same identity,
// so A passes and B (provenancePair) fails.
func TestKyvernoAttestations(t *testing.T) {
	cli := filepath.Join(stk.Tools, "kubectl-kyverno")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("kubectl-kyverno not built (run e2e/tools/build.sh): %v", err)
	}
	tufRoot := kyvernoTUF(t)
	for _, tc := range []struct{ format, signingConfig string }{
		{"legacy", stk.SigningConfigV1},
		{"bundle", stk.SigningConfig},
		{"both", stk.SigningConfigAll},
	} {
		t.Run(tc.format, func(t *testing.T) {
			r, a, b := provenancePair(t, tc.format, tc.signingConfig)
			policy := r.files["workspace/"+r.outputs["kyverno-cluster-policy"]]
			if !strings.Contains(policy, "attestations:") || !strings.Contains(policy, "type: "+slsaType) {
				t.Fatalf("kyverno-policy requires no provenance:\n%s", policy)
			}
			policyFile := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, img := range []struct {
				name, ref string
				admit     bool
			}{
				{"signed with provenance", a, true},
				{"signed without provenance", b, false},
			} {
				t.Run(img.name, func(t *testing.T) {
					admitted, out := kyvernoApply(t, cli, tufRoot, policyFile, img.ref)
					if admitted != img.admit {
						t.Errorf("kubectl-kyverno admitted=%v, want %v\npolicy:\n%s\noutput:\n%s", admitted, img.admit, policy, out)
					}
				})
			}
		})
	}
}
