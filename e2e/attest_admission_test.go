package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyTesterAttestation feeds policy-controller's policy-tester the
// ClusterImagePolicy of a run that signed image A with provenance, in the
// legacy format and in both, with the stack's timestamp authority: the
// policy requires the provenance attestation and its RFC 3161 timestamp,
// so A is admitted and B, in the same repository, signed by the same
// identity without provenance, is refused. policy-tester reads the .att
// tag and checks its timestamp over the whole envelope, as cosign v2 does.
func TestPolicyTesterAttestation(t *testing.T) {
	tester := filepath.Join(stk.Tools, "policy-tester")
	if _, err := os.Stat(tester); err != nil {
		t.Fatalf("policy-tester not built (run e2e/tools/build.sh): %v", err)
	}
	for _, tc := range []struct{ format, signingConfig string }{
		{"legacy", stk.SigningConfigV1},
		{"both", stk.SigningConfigAll},
	} {
		t.Run(tc.format, func(t *testing.T) {
			a := pushImage(t)
			r := runKeyless(t, githubJobEnv(t, merge(trustInputs(tc.signingConfig), map[string]string{
				"images": a, "signature-format": tc.format, "provenance": "true",
			})))
			if r.code != 0 {
				t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
			}
			policy, trustRoot := writeClusterImagePolicy(t, r, nil)
			b, _ := os.ReadFile(policy)
			for _, want := range []string{"predicateType: " + slsaType, "rfc3161timestamp:"} {
				if !strings.Contains(string(b), want) {
					t.Fatalf("ClusterImagePolicy lacks %q:\n%s", want, b)
				}
			}
			repo := a[:strings.Index(a, "@")]
			img, err := stk.PushRandomImage(t.Context(), strings.TrimPrefix(repo, stk.Registry+"/"), "noprov")
			if err != nil {
				t.Fatal(err)
			}
			keylessSign(t, tc.format, false, img)
			for _, c := range []struct {
				name, image string
				admit       bool
			}{
				{"signed with provenance", a, true},
				{"signed without provenance", img, false},
			} {
				t.Run(c.name, func(t *testing.T) {
					admitted, out := policyTester(t, tester, policy, trustRoot, c.image)
					if admitted != c.admit {
						t.Errorf("policy-tester admitted=%v, want %v\n%s", admitted, c.admit, out)
					}
				})
			}
		})
	}
}
