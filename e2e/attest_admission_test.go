package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// provenancePair signs image A with provenance in format, as a GitHub job
// would, and B, in the same repository, by the same identity without
// provenance: the admission tests admit A and refuse B. The run writes
// both Kyverno policies: the ImageValidatingPolicy (kyverno-policy), for
// the test's TUF repository, and the ClusterPolicy
// (kyverno-cluster-policy).
func provenancePair(t *testing.T, format, signingConfig string) (r result, a, b string) {
	t.Helper()
	a = pushImage(t)
	r = runKeyless(t, githubJobEnv(t, merge(trustInputs(signingConfig), ivpInputs(t), map[string]string{
		"images": a, "signature-format": format, "provenance": "true", "kyverno-policy": "both",
	})))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
	repo := strings.TrimPrefix(a[:strings.Index(a, "@")], stk.Registry+"/")
	b, err := stk.PushRandomImage(t.Context(), repo, "noprov")
	if err != nil {
		t.Fatal(err)
	}
	keylessSign(t, format, false, b)
	return r, a, b
}

// TestPolicyTesterAttestation feeds policy-controller's policy-tester the
// ClusterImagePolicy of a run that signed image A with provenance, in the
// legacy format and in both, with the stack's timestamp authority: the
// policy requires the provenance attestation and its RFC 3161 timestamp,
// so A is admitted and B (provenancePair) is refused. policy-tester reads
// the .att tag and checks its timestamp over the whole envelope, as
// cosign v2 does.
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
			r, a, b := provenancePair(t, tc.format, tc.signingConfig)
			policy, trustRoot := writeClusterImagePolicy(t, r, nil)
			text, _ := os.ReadFile(policy)
			for _, want := range []string{"predicateType: " + slsaType, "rfc3161timestamp:"} {
				if !strings.Contains(string(text), want) {
					t.Fatalf("ClusterImagePolicy lacks %q:\n%s", want, text)
				}
			}
			for _, c := range []struct {
				name, image string
				admit       bool
			}{
				{"signed with provenance", a, true},
				{"signed without provenance", b, false},
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
