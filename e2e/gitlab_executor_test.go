package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// TestGitLabCILocalPipeline runs the sign and verify components, unchanged,
// under gitlab-ci-local, an independent implementation of GitLab CI job
// execution: it interpolates spec:inputs, resolves include:component from
// the project's templates/ and passes each job's dotenv report to the jobs
// of later stages with GitLab's precedence. This is the pipeline in which
// the verify gate once checked the signer against itself.
func TestGitLabCILocalPipeline(t *testing.T) {
	executor := filepath.Join(stk.Tools, "gitlab-ci-local")
	if _, err := os.Stat(executor); err != nil {
		t.Fatalf("gitlab-ci-local is not installed (%v): run e2e/tools/npm.sh", err)
	}
	keylessAtRoot(t)
	img := pushImage(t)
	other := pushImage(t) // never signed
	token := mint(t, "gitlab")

	hostile := `
hostile:
  stage: sign
  script:
    - printf 'KEYLESS_CERTIFICATE_IDENTITY_REGEXP=.*\nKEYLESS_CERTIFICATE_OIDC_ISSUER_REGEXP=.*\nKEYLESS_IMAGES=%s\n' "$OTHER" > hostile.env
  artifacts:
    reports:
      dotenv: hostile.env
`
	for _, tc := range []struct {
		name     string
		identity string
		extra    string
		code     string // the verify job's result as the executor reports it
		want     []string
	}{
		{"the signer's identity passes", gitlabIdentity, "", "PASS", []string{"bundle verified"}},
		{"another identity fails after the sign job's dotenv", otherGitLabIdentity, "", "FAIL 1", []string{`expected SAN value "` + otherGitLabIdentity}},
		{"a hostile job's dotenv is refused", otherGitLabIdentity, hostile, "FAIL 2", []string{"KEYLESS_CERTIFICATE_IDENTITY_REGEXP", "KEYLESS_CERTIFICATE_OIDC_ISSUER_REGEXP", "KEYLESS_IMAGES"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := componentProject(t, fmt.Sprintf(`stages: [sign, verify]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/sign@$CI_COMMIT_SHA
    inputs:
      stage: sign
      images: $IMG
      signature-format: both
      trusted-root: %[1]s
      signing-config: %[2]s
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA
    inputs:
      stage: verify
      images: $IMG
      signature-format: both
      trusted-root: %[1]s
      certificate-identity: %[3]s
      certificate-oidc-issuer: %[4]s
%[5]s`, stk.TrustedRoot, stk.SigningConfigAll, tc.identity, stk.Issuer("gitlab"), tc.extra))
			// gitlab-ci-local sets GITLAB_CI=false so that scripts can tell
			// it from a runner; a runner sets true. The executor cannot
			// mint an ID token, so the job's id_tokens token is a variable.
			out := runGitLabCILocal(t, executor, repo, "GITLAB_CI=true", "IMG="+img, "OTHER="+other, "SIGSTORE_ID_TOKEN="+token)
			if strings.Contains(out, "could not be found") {
				t.Fatalf("a job's dotenv report was not written:\n%s", out)
			}
			if !regexp.MustCompile(`(?m)^keyless-sign +finished in [^\n]*$`).MatchString(out) || strings.Contains(out, "FAIL  keyless-sign") {
				t.Fatalf("the sign job did not pass:\n%s", out)
			}
			got := verifyResult(out)
			if got != tc.code {
				t.Fatalf("verify job: %q, want %q\n%s", got, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, token) {
				t.Error("the executor's output holds the ID token")
			}
		})
	}
}

// verifyResult is the verify job's result in gitlab-ci-local's output:
// PASS, or FAIL and the job's exit status.
func verifyResult(out string) string {
	m := regexp.MustCompile(`(?m)^keyless-verify +finished in [^\n]*?(FAIL \d+)?\s*$`).FindStringSubmatch(out)
	switch {
	case m == nil:
		return "did not finish"
	case m[1] != "":
		return m[1]
	}
	return "PASS"
}

// componentProject is a git repository laid out as the component project
// keyless-dev/demo on gitlab.com with the components' templates/ and the
// given .gitlab-ci.yml, so that include:component of this project resolves
// to the templates under test.
func componentProject(t *testing.T, pipeline string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "templates"), os.DirFS(filepath.Join(manifests.RepoRoot(), "gitlab", "templates"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"remote", "add", "origin", "https://gitlab.com/keyless-dev/demo.git"},
		{"add", "-A"},
		{"-c", "user.name=keyless", "-c", "user.email=keyless@example.com", "commit", "-qm", "components"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// runGitLabCILocal runs the project's pipeline with the shell executor, in
// an environment holding nothing of the test's own, and returns its output.
func runGitLabCILocal(t *testing.T, executor, repo string, vars ...string) string {
	t.Helper()
	args := []string{"--force-shell-executor"}
	for _, v := range vars {
		args = append(args, "--variable", v)
	}
	cmd := exec.Command(executor, args...)
	cmd.Dir = repo
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	out, _ := cmd.CombinedOutput() // the pipeline's result is read per job
	return string(out)
}

// keylessAtRoot puts the built binary at /keyless, where the components'
// scripts run it inside the keyless image, for the shell executor.
func keylessAtRoot(t *testing.T) {
	t.Helper()
	bin := keylessBin(t)
	if fi, err := os.Lstat("/keyless"); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("/keyless exists and is no symlink: remove it to run the components under gitlab-ci-local")
	}
	_ = os.Remove("/keyless")
	if err := os.Symlink(bin, "/keyless"); err != nil {
		t.Fatalf("linking /keyless to the built binary (the tests run as root, as CI does): %v", err)
	}
	t.Cleanup(func() { _ = os.Remove("/keyless") })
}
