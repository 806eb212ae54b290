package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/internal/oidc"
)

// TestTektonSignAttestations runs the sign Task's step with provenance and
// an SBOM: the attestations result lists both, within the size budget of
// the results, and cosign v3 accepts the provenance for the TaskRun's
// service account only.
func TestTektonSignAttestations(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	work := t.TempDir()
	params := map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig, "provenance": "true", "sbom": writeSBOM(t)}
	env, args := taskStep(t, task, work, params, map[string][]string{"images": {img}}, nil)
	if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(mint(t, "kubernetes")), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runKeyless(t, env, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := results(t, env["KEYLESS_RESULTS_DIR"])
	total := 0
	for _, v := range got {
		total += len(v)
	}
	if total > 3*1024 {
		t.Errorf("results take %d bytes, more than fits the 4 KiB termination message with Tekton's framing", total)
	}
	lines := strings.Split(got["attestations"], "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], slsaType+" ") || !strings.HasPrefix(lines[1], spdxType+" ") {
		t.Errorf("attestations result = %q, want the provenance and the SBOM", got["attestations"])
	}
	args3 := func(identity string) []string {
		return slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=slsaprovenance1",
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + identity,
			"--certificate-oidc-issuer=" + stk.Issuer("kubernetes"),
		}, registryFlags, []string{img})
	}
	out := mustCosign(t, stk.CosignV3, args3(kubernetesIdentity)...)
	// The provenance states the TaskRun the Task's context names.
	if stmt := statementOf(t, out); !strings.Contains(stmt, `"build-sign-run"`) || !strings.Contains(stmt, "6f1c4a52-3b2e-4f0a-9d61-0c7e8a9b5d21") {
		t.Errorf("the provenance does not state the TaskRun:\n%s", stmt)
	}
	mustFailCosign(t, stk.CosignV3, args3("https://kubernetes.io/namespaces/keyless/serviceaccounts/other")...)
}

// TestGitLabSignAttestations runs the sign component's job with provenance
// and an SBOM: the dotenv lists the attestations within GitLab's limit,
// and cosign v3 accepts the provenance of this pipeline's identity only.
func TestGitLabSignAttestations(t *testing.T) {
	img := pushImage(t)
	vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
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
	dotenv := r.files["keyless/keyless.env"]
	if len(dotenv) > 5*1024 {
		t.Errorf("dotenv is %d bytes, over GitLab's 5 KB limit", len(dotenv))
	}
	if !strings.Contains(dotenv, "KEYLESS_ATTESTATIONS=") || !strings.Contains(dotenv, slsaType) || !strings.Contains(dotenv, spdxType) {
		t.Errorf("dotenv lacks the attestations:\n%s", dotenv)
	}
	if !strings.Contains(r.files["keyless/summary.md"], "### Attestations") {
		t.Errorf("summary.md lists no attestations:\n%s", r.files["keyless/summary.md"])
	}
	args3 := func(identity string) []string {
		return slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=slsaprovenance1",
			"--trusted-root=" + stk.TrustedRoot,
			"--certificate-identity=" + identity,
			"--certificate-oidc-issuer=" + stk.Issuer("gitlab"),
		}, registryFlags, []string{img})
	}
	out := mustCosign(t, stk.CosignV3, args3(gitlabIdentity)...)
	if stmt := statementOf(t, out); claim("pipeline_id") == "" || !strings.Contains(stmt, claim("pipeline_id")) {
		t.Errorf("the provenance does not state pipeline %s:\n%s", claim("pipeline_id"), stmt)
	}
	mustFailCosign(t, stk.CosignV3, args3("https://gitlab.com/keyless-dev/other//.gitlab-ci.yml@refs/heads/main")...)
	assertNoToken(t, r, token, env["CI_REGISTRY_PASSWORD"])
}
