package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatePoliciesRequireAttestations runs the verify gate as a GitHub job
// runs verify/action.yml, with attestation-type slsaprovenance1, on image
// A of provenancePair, and applies the policies it writes with the real
// Kyverno CLIs (the ImageValidatingPolicy with 1.19, the ClusterPolicy
// with 1.18) and policy-tester: a cluster applying the gate's policies
// must require what the gate required, so A is admitted and B, signed by
// the same identity without provenance, is refused.
func TestGatePoliciesRequireAttestations(t *testing.T) {
	cli, tester := filepath.Join(stk.Tools, "kubectl-kyverno"), filepath.Join(stk.Tools, "policy-tester")
	for _, tool := range []string{cli, tester} {
		if _, err := os.Stat(tool); err != nil {
			t.Fatalf("%s not built (run e2e/tools/build.sh): %v", filepath.Base(tool), err)
		}
	}
	tufRoot := kyvernoTUF(t)
	_, a, b := provenancePair(t, "both", stk.SigningConfigAll)
	gate := runKeyless(t, githubEnv(merge(ivpInputs(t), map[string]string{
		"images": a, "signature-format": "both", "trusted-root": stk.TrustedRoot,
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"),
		"attestation-type": "slsaprovenance1", "kyverno-policy": "both",
	})), "verify")
	if gate.code != 0 {
		t.Fatalf("the gate refused an attested image: exit %d\n%s", gate.code, gate.stderr)
	}

	kyverno := gate.files["workspace/"+gate.outputs["kyverno-cluster-policy"]]
	if !strings.Contains(kyverno, "type: "+slsaType) {
		t.Errorf("the gate's kyverno-cluster-policy requires no provenance:\n%s", kyverno)
	}
	kyvernoFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(kyvernoFile, []byte(kyverno), 0o644); err != nil {
		t.Fatal(err)
	}
	ivp := gate.files["workspace/"+gate.outputs["kyverno-policy"]]
	if !strings.Contains(ivp, "kind: ImageValidatingPolicy") || !strings.Contains(ivp, "type: "+slsaType) {
		t.Errorf("the gate's kyverno-policy is no ImageValidatingPolicy requiring provenance:\n%s", ivp)
	}
	ivpFile := writeFile(t, "ivp.yaml", ivp)
	cli119 := kyverno119(t)
	cip, trustRoot := writeClusterImagePolicy(t, gate, nil)
	if text, _ := os.ReadFile(cip); !strings.Contains(string(text), "predicateType: "+slsaType) {
		t.Errorf("the gate's cluster-image-policy requires no provenance:\n%s", text)
	}
	for _, img := range []struct {
		name, ref string
		admit     bool
	}{
		{"signed with provenance", a, true},
		{"signed without provenance", b, false},
	} {
		t.Run(img.name, func(t *testing.T) {
			if admitted, out := kyvernoApply(t, cli, tufRoot, kyvernoFile, img.ref); admitted != img.admit {
				t.Errorf("kubectl-kyverno admitted=%v, want %v\n%s", admitted, img.admit, out)
			}
			if c, out := kyvernoRun(t, cli119, ivpFile, podManifest(img.ref), nil); c.admitted() != img.admit {
				t.Errorf("kubectl-kyverno-1.19 admitted=%v (%+v), want %v\n%s", c.admitted(), c, img.admit, out)
			}
			if admitted, out := policyTester(t, tester, cip, trustRoot, img.ref); admitted != img.admit {
				t.Errorf("policy-tester admitted=%v, want %v\n%s", admitted, img.admit, out)
			}
		})
	}
}
