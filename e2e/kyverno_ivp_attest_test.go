package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// toolPath is the path of a tool e2e/tools/build.sh built.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(stk.Tools, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not built (run e2e/tools/build.sh): %v", name, err)
	}
	return p
}

// runSource is the source repository and ref the signing certificate of
// run r named, from its report.
func runSource(t *testing.T, r result) (repo, ref string) {
	t.Helper()
	var rep struct {
		Certificate struct {
			SourceRepositoryURI string `json:"sourceRepositoryURI"`
			SourceRepositoryRef string `json:"sourceRepositoryRef"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal([]byte(r.files["workspace/"+r.outputs["report"]]), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Certificate
	if c.SourceRepositoryURI == "" || c.SourceRepositoryRef == "" {
		t.Fatalf("the report names no source repository and ref: %+v", c)
	}
	return c.SourceRepositoryURI, c.SourceRepositoryRef
}

// provenancePredicate is a GitHub provenance predicate of githubIdentity;
// forged names another repository and commit under the keys an exact
// reader reads, and the genuine ones again under keys that differ only
// in case.
func provenancePredicate(repo, ref string, forged bool) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	dep := func(repo, commit string) string {
		return `[{"uri":` + q("git+"+repo+"@"+ref) + `,"digest":{"gitCommit":` + q(commit) + `}}]`
	}
	wf := func(repo string) string {
		return `{"ref":` + q(ref) + `,"repository":` + q(repo) + `,"path":".github/workflows/release.yml"}`
	}
	genuine := strings.Repeat("ab", 20)
	deps, params := `"resolvedDependencies":`+dep(repo, genuine), `{"workflow":`+wf(repo)+`}`
	if forged {
		evil := "https://github.com/keyless-dev/evil"
		deps = `"resolvedDependencies":` + dep(evil, strings.Repeat("2", 40)) + `,"ResolvedDependencies":` + dep(repo, genuine)
		params = `{"workflow":` + wf(evil) + `,"Workflow":` + wf(repo) + `}`
	}
	return `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1","externalParameters":` + params + `,` + deps + `},` +
		`"runDetails":{"builder":{"id":` + q(githubIdentity) + `}}}`
}

// attestV3 attests ref with cosign v3 (a bundle referrer), the predicate
// of predicateType in the file at path, with a token of the stack's GitHub
// issuer minted with opts.
func attestV3(t *testing.T, ref, predicateType, path string, opts ...stack.MintOption) {
	t.Helper()
	mustCosign(t, stk.CosignV3, slices.Concat([]string{"attest", "-y",
		"--identity-token=" + mintFile(t, "github", opts...),
		"--trusted-root=" + stk.TrustedRoot,
		"--signing-config=" + stk.SigningConfig,
		"--type=" + predicateType, "--predicate=" + path,
	}, registryFlags, []string{ref})...)
}

// TestKyvernoImageValidatingAttestations applies the ImageValidatingPolicy
// of a run that signed image A with provenance, with the real Kyverno 1.19
// CLI, in every format: A passes and B, signed by the same identity without
// provenance, fails. For the bundle format, images signed by the same
// identity that carry a provenance attested with cosign v3 check the
// provenance's CEL: one by this identity naming the run's source passes;
// one attested by another identity fails, and so does a forged one whose
// exact keys name another repository and commit, with the genuine values
// again under keys that differ only in case.
func TestKyvernoImageValidatingAttestations(t *testing.T) {
	cli := kyverno119(t)
	for _, tc := range []struct{ format, signingConfig string }{
		{"legacy", stk.SigningConfigV1},
		{"bundle", stk.SigningConfig},
		{"both", stk.SigningConfigAll},
	} {
		t.Run(tc.format, func(t *testing.T) {
			r, a, b := provenancePair(t, tc.format, tc.signingConfig)
			policy := r.files["workspace/"+r.outputs["kyverno-policy"]]
			for _, want := range []string{"kind: ImageValidatingPolicy", "type: " + slsaType, "extractPayload(image, attestations.slsaprovenance1)"} {
				if !strings.Contains(policy, want) {
					t.Fatalf("kyverno-policy lacks %q:\n%s", want, policy)
				}
			}
			policyFile := writeFile(t, "policy.yaml", policy)
			rows := []struct {
				name, ref string
				admit     bool
			}{
				{"signed with provenance", a, true},
				{"signed without provenance", b, false},
			}
			if tc.format == "bundle" {
				repo, ref := runSource(t, r)
				attested := func(forged bool, opts ...stack.MintOption) string {
					img, err := stk.PushRandomImage(t.Context(), repoOf(a), "attested")
					if err != nil {
						t.Fatal(err)
					}
					keylessSign(t, "bundle", false, img)
					attestV3(t, img, slsaType, writeFile(t, "predicate.json", provenancePredicate(repo, ref, forged)), opts...)
					return img
				}
				rows = append(rows,
					struct {
						name, ref string
						admit     bool
					}{"provenance by this identity attested with cosign", attested(false), true},
					struct {
						name, ref string
						admit     bool
					}{"provenance by another identity", attested(false, stack.WithClaims(map[string]any{"repository": "keyless-dev/other"})), false},
					struct {
						name, ref string
						admit     bool
					}{"forged provenance with case-variant keys", attested(true), false},
				)
			}
			for _, row := range rows {
				t.Run(row.name, func(t *testing.T) {
					c, out := kyvernoRun(t, cli, policyFile, podManifest(row.ref), nil)
					t.Logf("kubectl-kyverno-1.19 apply:\n%s", out)
					if c.admitted() != row.admit {
						t.Errorf("admitted=%v (%+v), want %v\npolicy:\n%s\noutput:\n%s", c.admitted(), c, row.admit, policy, out)
					}
				})
			}
		})
	}
}

// TestPolicyModes signs an image in both formats twice, with policy-mode
// enforce and audit, and applies the policies of each run with the real
// tools to the signed image and an unsigned one:
//   - the ClusterPolicy with Kyverno 1.18 --audit-warn: enforce fails the
//     unsigned image, audit reports it as a warning (and, as Kyverno
//     requires of an audit policy, pins no tag to a digest);
//   - policy-tester: enforce refuses the unsigned image, audit (mode: warn)
//     admits it, as the webhook does with a warning;
//   - the ImageValidatingPolicy with Kyverno 1.19: its CLI reports the
//     unsigned image as a failure in both modes (it counts no audit
//     warnings for ImageValidatingPolicies: validationActions is read by
//     the admission controller), and the audit policy says [Audit].
func TestPolicyModes(t *testing.T) {
	cli118, cli119, tester := toolPath(t, "kubectl-kyverno"), kyverno119(t), toolPath(t, "policy-tester")
	signed := pushImage(t)
	unsigned, err := stk.PushRandomImage(t.Context(), repoOf(signed), "unsigned")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"enforce", "audit"} {
		t.Run(mode, func(t *testing.T) {
			r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfigAll), ivpInputs(t), map[string]string{
				"images": signed, "signature-format": "both", "kyverno-policy": "both", "policy-mode": mode,
			})))
			if r.code != 0 {
				t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
			}
			ivp := r.files["workspace/"+r.outputs["kyverno-policy"]]
			cp := r.files["workspace/"+r.outputs["kyverno-cluster-policy"]]
			wantAction, wantFailure := "- Deny", "failureAction: Enforce"
			if mode == "audit" {
				wantAction, wantFailure = "- Audit", "failureAction: Audit"
			}
			if !strings.Contains(ivp, "validationActions:\n  "+wantAction) || !strings.Contains(cp, wantFailure) {
				t.Fatalf("the policies do not say %s:\n%s\n%s", mode, ivp, cp)
			}
			ivpFile, cpFile := writeFile(t, "ivp.yaml", ivp), writeFile(t, "cp.yaml", cp)
			cip, trustRoot := writeClusterImagePolicy(t, r, nil)
			t.Run("signed", func(t *testing.T) {
				if c, out := kyvernoRun(t, cli119, ivpFile, podManifest(signed), nil); !c.admitted() {
					t.Errorf("kubectl-kyverno-1.19: %+v\n%s", c, out)
				}
				if c, out := kyvernoRun(t, cli118, cpFile, podManifest(signed), []string{"--audit-warn"}, "TUF_ROOT="+kyvernoTUF(t)); !c.admitted() {
					t.Errorf("kubectl-kyverno: %+v\n%s", c, out)
				}
				if ok, out := policyTester(t, tester, cip, trustRoot, signed); !ok {
					t.Errorf("policy-tester refused:\n%s", out)
				}
			})
			t.Run("unsigned", func(t *testing.T) {
				if c, out := kyvernoRun(t, cli119, ivpFile, podManifest(unsigned), []string{"--audit-warn"}); c != (kyvernoCounts{fail: 1}) {
					t.Errorf("kubectl-kyverno-1.19 = %+v, want one failure\n%s", c, out)
				}
				// Enforce: failures (the signature's and required's), no
				// warning; audit: warnings, no failure.
				c, out := kyvernoRun(t, cli118, cpFile, podManifest(unsigned), []string{"--audit-warn"}, "TUF_ROOT="+kyvernoTUF(t))
				if failed, warned := c.fail > 0 && c.warn == 0, c.warn > 0 && c.fail == 0; c.pass != 0 || c.error != 0 || failed != (mode == "enforce") || warned != (mode == "audit") {
					t.Errorf("kubectl-kyverno = %+v in mode %s\n%s", c, mode, out)
				}
				if ok, out := policyTester(t, tester, cip, trustRoot, unsigned); ok != (mode == "audit") {
					t.Errorf("policy-tester admitted=%v in mode %s\n%s", ok, mode, out)
				}
			})
		})
	}
}
