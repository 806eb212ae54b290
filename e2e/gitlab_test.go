package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/e2e/stack"
)

// componentJob instantiates a GitLab component template with inputs (the
// header's defaults otherwise) and returns the job's variables and script.
func componentJob(t *testing.T, file string, inputs map[string]string) (map[string]string, []string) {
	t.Helper()
	j := instantiateJob(t, file, inputs)
	return j.Variables, j.Script
}

// gitlabJob is what the runner reads of an instantiated component job.
type gitlabJob struct {
	Image struct {
		Name       string   `json:"name"`
		Entrypoint []string `json:"entrypoint"`
	} `json:"image"`
	Variables map[string]string `json:"variables"`
	Script    []string          `json:"script"`
}

// instantiateJob instantiates a component template's one job as GitLab
// does: each given input checked against its regex, the header's defaults
// for the rest, the $[[ inputs.x ]] blocks interpolated in the parsed body.
func instantiateJob(t *testing.T, file string, inputs map[string]string) gitlabJob {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(manifests.RepoRoot(), file))
	if err != nil {
		t.Fatal(err)
	}
	docs := manifests.SplitDocuments(data)
	if len(docs) != 2 {
		t.Fatalf("%s: %d documents, want header and body", file, len(docs))
	}
	var header struct {
		Spec struct {
			Inputs map[string]struct {
				Default any    `json:"default"`
				Regex   string `json:"regex"`
			} `json:"inputs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(docs[0], &header); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	for k, v := range header.Spec.Inputs {
		if v.Default != nil {
			values[k] = v.Default
		}
	}
	for k, v := range inputs {
		spec, ok := header.Spec.Inputs[k]
		if !ok {
			t.Fatalf("%s declares no input %q", file, k)
		}
		if spec.Regex != "" && !regexp.MustCompile(spec.Regex).MatchString(v) {
			t.Fatalf("GitLab refuses input %s=%q: it does not match %s", k, v, spec.Regex)
		}
		values[k] = v
	}
	body, err := manifests.Interpolate(docs[1], values)
	if err != nil {
		t.Fatalf("instantiating %s: %v", file, err)
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]gitlabJob
	if err := json.Unmarshal(b, &jobs); err != nil {
		t.Fatalf("instantiated %s: %v\n%s", file, err, b)
	}
	if len(jobs) != 1 {
		t.Fatalf("%s has %d jobs, want 1", file, len(jobs))
	}
	for _, j := range jobs {
		return j
	}
	return gitlabJob{}
}

// gitlabEnv is a GitLab job's predefined environment plus the job's
// variables and the id_tokens token.
func gitlabEnv(vars map[string]string, token string) map[string]string {
	env := map[string]string{
		"CI":                   "true",
		"GITLAB_CI":            "true",
		"CI_SERVER_URL":        "https://gitlab.com",
		"CI_PROJECT_PATH":      "keyless-dev/demo",
		"CI_PROJECT_URL":       "https://gitlab.com/keyless-dev/demo",
		"CI_COMMIT_REF_NAME":   "main",
		"CI_COMMIT_SHA":        "0123456789abcdef0123456789abcdef01234567",
		"CI_JOB_ID":            "4242",
		"CI_PIPELINE_SOURCE":   "push",
		"CI_REGISTRY":          "registry.gitlab.example.com",
		"CI_REGISTRY_USER":     "gitlab-ci-token",
		"CI_REGISTRY_PASSWORD": "glcbt-registry-secret-0123456789",
		"SIGSTORE_ID_TOKEN":    token,
	}
	for k, v := range vars {
		env[k] = v
	}
	return env
}

// runScript runs the job's script as the runner's shell does, with the
// built binary in place of /keyless: each line in sh, stopping at the
// first failure.
func runScript(t *testing.T, env map[string]string, script []string) result {
	t.Helper()
	var lines []string
	for _, l := range script {
		if !strings.HasPrefix(l, "/keyless ") {
			t.Fatalf("script line %q does not run /keyless", l)
		}
		lines = append(lines, shellQuote(keylessBin(t))+strings.TrimPrefix(l, "/keyless"))
	}
	return runCommand(t, env, "/bin/sh", "-ec", strings.Join(lines, "\n"))
}

// TestGitLabSign runs the sign component's job with a GitLab-shaped token
// and checks the dotenv, summary and annotations reports and cosign.
func TestGitLabSign(t *testing.T) {
	img := pushImage(t)
	vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfigAll, "signature-format": "both",
	})
	token := mint(t, "gitlab")
	env := gitlabEnv(vars, token)
	r := runScript(t, env, script)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	dotenv := boundedDotenv(t, r)
	for _, want := range []string{
		"KEYLESS_DIGESTS=" + img + "\n",
		"KEYLESS_SIGNED_IDENTITY=" + gitlabIdentity + "\n",
		"KEYLESS_SIGNED_OIDC_ISSUER=" + stk.Issuer("gitlab") + "\n",
		"KEYLESS_VERIFIED=true\n",
	} {
		if !strings.Contains(dotenv, want) {
			t.Errorf("dotenv lacks %q:\n%s", want, dotenv)
		}
	}
	var ann map[string][]map[string]map[string]string
	if err := json.Unmarshal([]byte(r.files["keyless/annotations.json"]), &ann); err != nil {
		t.Fatalf("annotations.json: %v\n%s", err, r.files["keyless/annotations.json"])
	}
	if n := len(ann["keyless"]); n != 2 {
		t.Errorf("%d log links in annotations.json, want 2 (one per signature)", n)
	}
	for _, l := range ann["keyless"] {
		if !strings.HasPrefix(l["external_link"]["url"], "http") {
			t.Errorf("annotation link %v has no URL", l)
		}
	}
	for _, s := range []string{"✅", gitlabIdentity, "cosign verify"} {
		if !strings.Contains(r.files["keyless/summary.md"], s) {
			t.Errorf("summary.md lacks %q", s)
		}
	}
	// One section for the run, one per image with its details.
	if n := strings.Count(r.stdout, "section_start:"); n != 2 || strings.Count(r.stdout, "section_end:") != n {
		t.Errorf("%d collapsible log sections, want 2 (run, image):\n%s", n, r.stdout)
	}
	if !strings.Contains(r.stdout, "[collapsed=true]\r\x1b[0K"+img+"\n") || !strings.Contains(r.stdout, "legacy verified: ") {
		t.Errorf("no section with the image's details in the job log:\n%s", r.stdout)
	}
	assertNoToken(t, r, token, env["CI_REGISTRY_PASSWORD"])
	c := cosignCheck{stk.CosignV3, nil}
	c.accepts(t, img, gitlabIdentity, stk.Issuer("gitlab"))
	c.rejects(t, img, "https://gitlab.com/keyless-dev/other//.gitlab-ci.yml@refs/heads/main", stk.Issuer("gitlab"))
	c.rejects(t, img, gitlabIdentity, stk.Issuer("github"))
}

// TestGitLabNullConfigRef shows that a token whose ci_config_ref_uri is
// null (child pipelines, fork merge requests) exits 2 with the reason, before
// Fulcio is called, and writes nothing.
func TestGitLabNullConfigRef(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
	})
	for _, claims := range []map[string]any{{"ci_config_ref_uri": nil}, {"ci_config_ref_uri": nil, "ci_config_sha": nil}} {
		t.Run(fmt.Sprintf("without %d claims", len(claims)), func(t *testing.T) {
			token := mint(t, "gitlab", stack.WithClaims(claims))
			r := runScript(t, gitlabEnv(vars, token), script)
			if r.code != 2 || !strings.Contains(r.stderr, "ci_config_ref_uri") {
				t.Fatalf("exit %d, want 2 naming ci_config_ref_uri\n%s", r.code, r.stderr)
			}
			if _, ok := r.files["keyless/keyless.env"]; ok {
				t.Errorf("a failed preflight wrote the dotenv report")
			}
			assertNoToken(t, r, token)
		})
	}
	if after := tags(t, img); strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("registry changed: %v → %v", before, after)
	}
}

// boundedDotenv is the job's keyless.env, checked to be within GitLab's
// 5 KB dotenv limit.
func boundedDotenv(t *testing.T, r result) string {
	t.Helper()
	dotenv := r.files["keyless/keyless.env"]
	if len(dotenv) > 5*1024 {
		t.Errorf("dotenv is %d bytes, over GitLab's 5 KB limit", len(dotenv))
	}
	return dotenv
}
