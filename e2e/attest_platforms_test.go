package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/internal/oidc"
)

// attestFormats are the signature formats with the signing config each
// needs (the stack's, once it is up).
func attestFormats() []struct{ format, signingConfig string } {
	return []struct{ format, signingConfig string }{
		{"bundle", stk.SigningConfig},
		{"legacy", stk.SigningConfigV1},
		{"both", stk.SigningConfigAll},
	}
}

// platformSubjects pushes one image and a two-platform index for a
// platform test: with recursive, 4 digests.
func platformSubjects(t *testing.T) (img, idx string) {
	t.Helper()
	img = pushImage(t)
	idx, err := stk.PushPlatformIndex(t.Context(), "e2e/"+strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))+"-index", "v1")
	if err != nil {
		t.Fatal(err)
	}
	return img, idx
}

// verifyProvenance checks the provenance of each ref with the cosign CLI
// that reads the format (v3 the bundle referrers, v2 the legacy .att with
// its timestamp) for identity, and that another identity is refused. It
// returns the statement of the first ref.
func verifyProvenance(t *testing.T, format, issuer, identity, other string, refs ...string) string {
	t.Helper()
	if format == "legacy" {
		env, tsa := legacyTrustEnv(t), tsaChainFile(t)
		args := func(id, ref string) []string {
			return slices.Concat([]string{"verify-attestation", "--type=slsaprovenance1",
				"--certificate-identity=" + id, "--certificate-oidc-issuer=" + issuer,
				"--offline", "--rekor-url=" + stk.RekorV1URL, "--timestamp-certificate-chain=" + tsa,
			}, registryFlags, []string{ref})
		}
		var first string
		for i, ref := range refs {
			out, err := cosignWithEnv(t, env, stk.CosignV2, args(identity, ref)...)
			if err != nil {
				t.Fatalf("cosign v2 verify-attestation %s: %v\n%s", ref, err, out)
			}
			if i == 0 {
				first = statementOf(t, out)
			}
		}
		if out, err := cosignWithEnv(t, env, stk.CosignV2, args(other, refs[0])...); err == nil {
			t.Errorf("cosign v2 verify-attestation accepted another identity:\n%s", out)
		}
		return first
	}
	args := func(id, ref string) []string {
		return slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=slsaprovenance1",
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + id, "--certificate-oidc-issuer=" + issuer,
		}, registryFlags, []string{ref})
	}
	var first string
	for i, ref := range refs {
		out := mustCosign(t, stk.CosignV3, args(identity, ref)...)
		if i == 0 {
			first = statementOf(t, out)
		}
	}
	mustFailCosign(t, stk.CosignV3, args(other, refs[0])...)
	return first
}

// wantAttestations is how many attestations a run lists: the provenance
// and the SBOM of every digest in every store.
func wantAttestations(t *testing.T, list string, digests int, format string) {
	t.Helper()
	stores := map[string]int{"bundle": 1, "legacy": 1, "both": 2}[format]
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != digests*2*stores {
		t.Errorf("%d attestations listed, want %d (%d digests × 2 kinds × %d stores):\n%s", len(lines), digests*2*stores, digests, stores, list)
	}
	for _, typ := range []string{slsaType, spdxType} {
		if n := strings.Count(list, typ+" "); n != digests*stores {
			t.Errorf("%d attestations of %s, want %d", n, typ, digests*stores)
		}
	}
}

// reportAttestations checks a report lists, for every digest in every
// store, the provenance and the SBOM, each signed and verified.
func reportAttestations(t *testing.T, report string, digests int, format string) {
	t.Helper()
	stores := map[string]int{"bundle": 1, "legacy": 1, "both": 2}[format]
	for _, typ := range []string{slsaType, spdxType} {
		if n := strings.Count(report, `"predicateType": "`+typ+`"`); n != 2*digests*stores {
			t.Errorf("report holds %d entries of %s, want %d (signed and verified)", n, typ, 2*digests*stores)
		}
	}
}

// TestTektonSignAttestations runs the sign Task's step with provenance and
// an SBOM, on an image and a two-platform index with recursive, in every
// format: the attestations result lists them all within the size budget
// of the results, and the cosign CLIs accept the provenance for the
// TaskRun's service account only.
func TestTektonSignAttestations(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range attestFormats() {
		t.Run(tc.format, func(t *testing.T) {
			img, idx := platformSubjects(t)
			work := t.TempDir()
			params := map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": tc.signingConfig,
				"signature-format": tc.format, "recursive": "true", "provenance": "true", "sbom": writeSBOM(t)}
			output := filepath.Join(work, "output")
			env, args := taskStep(t, task, work, params, map[string][]string{"images": {img, idx}}, map[string]string{"output": output})
			if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(mint(t, "kubernetes")), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runKeyless(t, env, args...)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			got := budgetedResults(t, env["KEYLESS_RESULTS_DIR"])
			if got["verified"] != "true" {
				t.Errorf("verified result = %q, want true", got["verified"])
			}
			// In both formats the list is over the results' budget: it is
			// left out, whole, and the report in the output workspace
			// has every attestation.
			if got["attestations"] == "" {
				if !strings.Contains(r.stdout, "attestations") || !strings.Contains(r.stdout, "left out") {
					t.Errorf("the attestations result is empty and the log does not say why:\n%s", r.stdout)
				}
				report, err := os.ReadFile(filepath.Join(output, "report.json"))
				if err != nil {
					t.Fatal(err)
				}
				reportAttestations(t, string(report), 4, tc.format)
			} else {
				wantAttestations(t, got["attestations"], 4, tc.format)
			}
			digests := strings.Split(got["digests"], "\n")
			stmt := verifyProvenance(t, tc.format, stk.Issuer("kubernetes"), kubernetesIdentity,
				"https://kubernetes.io/namespaces/keyless/serviceaccounts/other", img, idx, digests[len(digests)-1])
			// The provenance states the TaskRun the Task's context names.
			if !strings.Contains(stmt, `"build-sign-run"`) || !strings.Contains(stmt, "6f1c4a52-3b2e-4f0a-9d61-0c7e8a9b5d21") {
				t.Errorf("the provenance does not state the TaskRun:\n%s", stmt)
			}
		})
	}
}

// TestGitLabSignAttestations runs the sign component's job with provenance
// and an SBOM, on an image and a two-platform index with recursive, in
// every format: the dotenv lists the attestations within GitLab's limit,
// and the cosign CLIs accept the provenance of this pipeline's identity
// only.
func TestGitLabSignAttestations(t *testing.T) {
	for _, tc := range attestFormats() {
		t.Run(tc.format, func(t *testing.T) {
			img, idx := platformSubjects(t)
			vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
				"images": img + "\n" + idx, "recursive": "true", "signature-format": tc.format,
				"trusted-root": stk.TrustedRoot, "signing-config": tc.signingConfig,
				"provenance": "true", "sbom": writeSBOM(t),
			})
			token := mint(t, "gitlab")
			tok, err := oidc.Parse(token)
			if err != nil {
				t.Fatal(err)
			}
			claim := func(n string) string { v, _ := tok.Claim(n); return v }
			env := merge(gitlabEnv(vars, token), runnerEnv("gitlab", claim))
			r := runScript(t, env, script)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			dotenv := boundedDotenv(t, r)
			if !strings.Contains(dotenv, "KEYLESS_VERIFIED=true") {
				t.Errorf("dotenv does not say verified:\n%s", dotenv)
			}
			reportAttestations(t, r.files["keyless/report.json"], 4, tc.format)
			if !strings.Contains(r.files["keyless/summary.md"], "### Attestations") {
				t.Errorf("summary.md lists no attestations:\n%s", r.files["keyless/summary.md"])
			}
			stmt := verifyProvenance(t, tc.format, stk.Issuer("gitlab"), gitlabIdentity,
				"https://gitlab.com/keyless-dev/other//.gitlab-ci.yml@refs/heads/main", img, idx)
			if claim("pipeline_id") == "" || !strings.Contains(stmt, claim("pipeline_id")) {
				t.Errorf("the provenance does not state pipeline %s:\n%s", claim("pipeline_id"), stmt)
			}
			assertNoToken(t, r, token, env["CI_REGISTRY_PASSWORD"])
		})
	}
}

// TestGitHubSignAttestationsFormats runs the action with provenance and an
// SBOM, on an image and a two-platform index with recursive, in every
// format: every digest's attestations are listed and verified, and the
// cosign CLIs accept the provenance of this workflow only.
func TestGitHubSignAttestationsFormats(t *testing.T) {
	for _, tc := range attestFormats() {
		t.Run(tc.format, func(t *testing.T) {
			img, idx := platformSubjects(t)
			r := runKeyless(t, githubJobEnv(t, merge(trustInputs(tc.signingConfig), map[string]string{
				"images": img + "\n" + idx, "recursive": "true", "signature-format": tc.format,
				"provenance": "true", "sbom": writeSBOM(t),
			})))
			if r.code != 0 || r.outputs["verified"] != "true" {
				t.Fatalf("exit %d, verified %q\nstdout:\n%s\nstderr:\n%s", r.code, r.outputs["verified"], r.stdout, r.stderr)
			}
			wantAttestations(t, r.outputs["attestations"], 4, tc.format)
			digests := strings.Split(r.outputs["digests"], "\n")
			stmt := verifyProvenance(t, tc.format, stk.Issuer("github"), githubIdentity, otherIdentity, img, idx, digests[len(digests)-1])
			if !strings.Contains(stmt, "https://actions.github.io/buildtypes/workflow/v1") {
				t.Errorf("the provenance does not state the workflow run:\n%s", stmt)
			}
		})
	}
}
