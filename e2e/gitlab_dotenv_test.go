package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// otherGitLabIdentity never signed anything.
const otherGitLabIdentity = "https://gitlab.com/evil/other//.gitlab-ci.yml@refs/heads/main"

// withDotenv applies a dotenv report to a later job's environment as
// GitLab does: its variables take precedence over every other variable of
// the job, job variables and predefined ones included.
func withDotenv(env map[string]string, dotenv string) map[string]string {
	out := merge(env)
	for _, line := range strings.Split(dotenv, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// signedByComponent signs a fresh image with the sign component's job and
// returns the image and the job's dotenv report.
func signedByComponent(t *testing.T) (string, string) {
	t.Helper()
	img := pushImage(t)
	vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfigAll, "signature-format": "both",
	})
	r := runScript(t, gitlabEnv(vars, mint(t, "gitlab")), script)
	if r.code != 0 {
		t.Fatalf("sign job: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return img, boundedDotenv(t, r)
}

// hostileDotenv is what a compromised job of an earlier stage could
// report: a wider identity, another issuer, other images.
func hostileDotenv(img string) string {
	return strings.Join([]string{
		"KEYLESS_CERTIFICATE_IDENTITY_REGEXP=.*",
		"KEYLESS_CERTIFICATE_OIDC_ISSUER=" + stk.Issuer("github"),
		"KEYLESS_IMAGES=" + img,
		"KEYLESS_SIGNATURE_FORMAT=any",
	}, "\n")
}

// TestGitLabDotenvCannotRewriteGate runs the two-stage pipeline of the sign
// and verify components with GitLab's dotenv precedence: the sign job's
// report, and a hostile one, reach the verify job's environment over its
// own variables. Neither may change what the gate accepts.
func TestGitLabDotenvCannotRewriteGate(t *testing.T) {
	img, dotenv := signedByComponent(t)
	other := pushImage(t) // unsigned
	if !strings.Contains(dotenv, "KEYLESS_SIGNED_IDENTITY="+gitlabIdentity) {
		t.Fatalf("the sign job's dotenv does not report the identity it signed as:\n%s", dotenv)
	}
	verifyJob := func(identity string) (map[string]string, []string) {
		return componentJob(t, "gitlab/templates/verify.yml", map[string]string{
			"images": img, "trusted-root": stk.TrustedRoot, "signature-format": "both",
			"certificate-identity": identity, "certificate-oidc-issuer": stk.Issuer("gitlab"),
		})
	}
	for _, tc := range []struct {
		name     string
		identity string
		dotenv   string
		code     int
		want     string
	}{
		{"the signer's identity passes", gitlabIdentity, dotenv, 0, "verified"},
		{"another identity fails with the sign job's dotenv", otherGitLabIdentity, dotenv, 1, "NOT verified"},
		{"a hostile dotenv is refused", gitlabIdentity, hostileDotenv(other), 2, "KEYLESS_"},
		{"a hostile dotenv does not let another identity pass", otherGitLabIdentity, dotenv + "\n" + hostileDotenv(img), 2, "--certificate-identity-regexp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars, script := verifyJob(tc.identity)
			r := runScript(t, withDotenv(gitlabEnv(vars, ""), tc.dotenv), script)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestGitLabProjectPipelineGate runs the verify job of gitlab/.gitlab-ci.yml,
// the component project's own pipeline, with the inputs it includes the
// component with and the sign job's dotenv applied: it passes on an image
// its own identity signed and fails on the same image as another project's
// pipeline sees it.
func TestGitLabProjectPipelineGate(t *testing.T) {
	img, dotenv := signedByComponent(t)
	inputs := projectInputs(t, "verify")
	inputs["images"] = img
	inputs["trusted-root"] = stk.TrustedRoot // the local stack's Sigstore, not public-good
	inputs["certificate-oidc-issuer"] = stk.Issuer("gitlab")
	vars, script := componentJob(t, "gitlab/templates/verify.yml", inputs)
	for _, tc := range []struct {
		name    string
		project string
		code    int
	}{
		{"as the signing project", "https://gitlab.com/keyless-dev/demo", 0},
		{"as another project", "https://gitlab.com/keyless-dev/keyless", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := gitlabEnv(vars, "")
			env["CI_PROJECT_URL"], env["COMPONENT_TEST_REF"] = tc.project, "refs/heads/main"
			r := runScript(t, withDotenv(env, dotenv), script)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}

// projectInputs are the inputs gitlab/.gitlab-ci.yml includes a component
// with.
func projectInputs(t *testing.T, component string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(manifests.RepoRoot(), "gitlab", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Include []struct {
			Component string         `json:"component"`
			Inputs    map[string]any `json:"inputs"`
		} `json:"include"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, inc := range doc.Include {
		if strings.Contains(inc.Component, "/"+component+"@") {
			out := map[string]string{}
			for k, v := range inc.Inputs {
				if k != "stage" {
					out[k] = fmt.Sprint(v)
				}
			}
			return out
		}
	}
	t.Fatalf("gitlab/.gitlab-ci.yml does not include the %s component", component)
	return nil
}

// TestGitHubEnvCannotRewriteGate runs the verify action's step with
// variables that an earlier step of the job wrote to GITHUB_ENV. The
// action reads its inputs from INPUT_<NAME> alone, which the runner sets
// from with:, and KEYLESS_PLATFORM may not switch it to KEYLESS_* inputs.
func TestGitHubEnvCannotRewriteGate(t *testing.T) {
	img := pushImage(t)
	signV3(t, img, "github")
	inputs := map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot,
		"certificate-identity":    "https://github.com/evil/other/.github/workflows/x.yml@refs/heads/main",
		"certificate-oidc-issuer": stk.Issuer("github"),
	}
	injected := map[string]string{"KEYLESS_CERTIFICATE_IDENTITY": githubIdentity, "KEYLESS_CERTIFICATE_OIDC_ISSUER": stk.Issuer("github"),
		"KEYLESS_IMAGES": img, "KEYLESS_TRUSTED_ROOT": stk.TrustedRoot}
	for _, tc := range []struct {
		name string
		env  map[string]string
		code int
		want string
	}{
		{"KEYLESS_* variables are no inputs", injected, 1, "NOT verified"},
		{"KEYLESS_PLATFORM may not switch to them", merge(injected, map[string]string{"KEYLESS_PLATFORM": "cli"}), 2, "KEYLESS_PLATFORM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runKeyless(t, merge(githubEnv(inputs), tc.env), "verify")
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}
