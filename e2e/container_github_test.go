package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// action is what the runner reads of an action's metadata file.
type action struct {
	Inputs map[string]struct {
		Default *string `json:"default"`
	} `json:"inputs"`
	Runs struct {
		Using string   `json:"using"`
		Image string   `json:"image"`
		Args  []string `json:"args"`
	} `json:"runs"`
}

func loadAction(t testing.TB, path string) action {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if a.Runs.Using != "docker" {
		t.Fatalf("%s: runs.using %q, want docker", path, a.Runs.Using)
	}
	for _, arg := range a.Runs.Args {
		if strings.Contains(arg, "${{") {
			t.Fatalf("%s: arg %q has an expression the simulation does not evaluate", path, arg)
		}
	}
	return a
}

// runnerRun is what a container action step left behind.
type runnerRun struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
	workspace      string // the host directory mounted at /github/workspace
}

// runAction runs a container action as GitHub's runner does (its
// DockerCommandManager.DockerRun): docker run --workdir /github/workspace
// --rm, -e NAME for each variable (values from the runner's environment),
// -e GITHUB_ACTIONS=true -e CI=true, the job's network, the runner's
// directories mounted at /github/*, owned by the runner's user (uid 1001)
// with directories 755 and files 644, then the image and runs.args. The
// image is runs.image when it is docker://…; for `image: Dockerfile` it is
// fallback, which scripts/image builds from the same source. user, when
// set, runs the container as that user (what a USER line in the image did).
func runAction(t *testing.T, actionFile, fallback string, inputs map[string]string, files []string, user string) runnerRun {
	t.Helper()
	a := loadAction(t, actionFile)
	img := fallback
	if ref, ok := strings.CutPrefix(a.Runs.Image, "docker://"); ok {
		img = ref
	}
	pull(t, img)
	root := t.TempDir()
	temp := filepath.Join(root, "_temp")
	ws := filepath.Join(root, "demo", "demo")
	fc := filepath.Join(temp, "_runner_file_commands")
	for _, d := range []string{ws, filepath.Join(temp, "_github_home"), filepath.Join(temp, "_github_workflow"), fc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const id = "3b2c9b5e-0c1f-4a55-9d0e-1c2f3a4b5c6d"
	cmdFiles := map[string]string{}
	for _, f := range []string{"GITHUB_OUTPUT=set_output", "GITHUB_STEP_SUMMARY=step_summary", "GITHUB_ENV=set_env", "GITHUB_PATH=add_path", "GITHUB_STATE=save_state"} {
		k, base, _ := strings.Cut(f, "=")
		cmdFiles[k] = base + "_" + id
		if err := os.WriteFile(filepath.Join(fc, cmdFiles[k]), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(temp, "_github_workflow", "event.json"), []byte(`{"ref":"refs/heads/main"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		copyFile(t, f, ws)
	}
	chownTree(t, root, 1001)

	env := map[string]string{}
	for k, v := range stk.GitHubActionEnv("", nil) {
		env[k] = v
	}
	for k, v := range map[string]string{
		"HOME": "/github/home", "GITHUB_WORKSPACE": "/github/workspace",
		"GITHUB_EVENT_PATH": "/github/workflow/event.json", "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
		"RUNNER_NAME": "GitHub Actions 2", "RUNNER_ENVIRONMENT": "github-hosted",
		"RUNNER_TEMP": "/home/runner/work/_temp", "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
		"RUNNER_WORKSPACE": "/home/runner/work/demo", "GITHUB_ACTION": "sign", "GITHUB_ACTION_PATH": "",
	} {
		env[k] = v
	}
	for k, f := range cmdFiles {
		env[k] = "/github/file_commands/" + f
	}
	for n, in := range a.Inputs {
		v, given := inputs[n]
		if !given && in.Default != nil {
			v = *in.Default
		}
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(n, " ", "_"))] = v
	}
	for n := range inputs {
		if _, ok := a.Inputs[n]; !ok {
			t.Fatalf("%s has no input %q", actionFile, n)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	args := []string{"--name", "keyless_" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_")),
		"--label", "e2e-runner", "--workdir", "/github/workspace"}
	var penv []string
	for _, k := range keys {
		args = append(args, "-e", k)
		penv = append(penv, k+"="+env[k])
	}
	args = append(args, "-e", "GITHUB_ACTIONS=true", "-e", "CI=true")
	if user != "" {
		args = append(args, "--user", user)
	}
	for src, dst := range map[string]string{
		"_temp/_github_home": "/github/home", "_temp/_github_workflow": "/github/workflow",
		"_temp/_runner_file_commands": "/github/file_commands", "demo/demo": "/github/workspace",
	} {
		args = append(args, "-v", filepath.Join(root, src)+":"+dst)
	}
	args = append(append(args, byDigest(img)), a.Runs.Args...)
	code, stdout, stderr := timedRun(t, actionName(actionFile), penv, "", args...)
	read := func(k string) string {
		b, _ := os.ReadFile(filepath.Join(fc, cmdFiles[k]))
		return string(b)
	}
	return runnerRun{code, stdout, stderr, parseGitHubOutput(t, read("GITHUB_OUTPUT")), read("GITHUB_STEP_SUMMARY"), ws}
}

// repoFile is a file of the repository (action.yml, verify/action.yml).
func repoFile(p string) string { return filepath.Join(manifests.RepoRoot(), p) }

// TestContainerGitHubAction runs the image as GitHub's runner runs
// action.yml (sign) and then verify/action.yml (verify), with the runner's
// mounts owned by its user, and checks the outputs, the summary, the files
// in the workspace and what cosign says of the signatures.
func TestContainerGitHubAction(t *testing.T) {
	static, _ := images(t)
	img := pushImage(t)
	trust := []string{stk.TrustedRoot, stk.SigningConfigAll}
	r := runAction(t, repoFile("action.yml"), static, map[string]string{
		"images": img, "signature-format": "both",
		"trusted-root":   "/github/workspace/" + filepath.Base(stk.TrustedRoot),
		"signing-config": "/github/workspace/" + filepath.Base(stk.SigningConfigAll),
	}, trust, "")
	checkGitHubSign(t, r, img)
	assertNoToken(t, result{stdout: r.stdout, stderr: r.stderr, outputs: r.outputs, summary: r.summary})
	for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
		c.accepts(t, img, githubIdentity, stk.Issuer("github"))
	}

	v := runAction(t, repoFile("verify/action.yml"), static, map[string]string{
		"images": img, "signature-format": "both",
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"),
		"trusted-root": "/github/workspace/" + filepath.Base(stk.TrustedRoot),
	}, trust, "")
	if v.code != 0 || v.outputs["verified"] != "true" || v.outputs["digests"] != img {
		t.Fatalf("verify action: exit %d, outputs %v\nstdout:\n%s\nstderr:\n%s", v.code, v.outputs, v.stdout, v.stderr)
	}
	if !strings.Contains(v.summary, "✅") {
		t.Errorf("verify summary lacks ✅:\n%s", v.summary)
	}
}

// checkGitHubSign checks a sign action run's outputs, summary and files.
func checkGitHubSign(t *testing.T, r runnerRun, img string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for k, want := range map[string]string{
		"digests": img, "certificate-identity": githubIdentity,
		"certificate-oidc-issuer": stk.Issuer("github"), "verified": "true", "report": "keyless-report.json",
	} {
		if r.outputs[k] != want {
			t.Errorf("output %s = %q, want %q", k, r.outputs[k], want)
		}
	}
	for _, s := range []string{"✅", githubIdentity, "cosign verify"} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, r.summary)
		}
	}
	for _, out := range []string{"report", "kyverno-policy", "cluster-image-policy"} {
		b, err := os.ReadFile(filepath.Join(r.workspace, r.outputs[out]))
		if err != nil || !strings.Contains(string(b), githubIdentity) {
			t.Errorf("%s file %q in the workspace: %v, or it lacks the identity", out, r.outputs[out], err)
		}
	}
}

// TestContainerImageUser checks that every platform of both variants runs
// as root, the default user GitHub requires of container actions: an image
// with USER nonroot cannot write the runner's files (owned by uid 1001).
func TestContainerImageUser(t *testing.T) {
	static, debug := images(t)
	for _, ref := range []string{static, debug} {
		for _, user := range imageUsers(t, ref) {
			if user != "" && user != "0" && user != "root" && user != "0:0" {
				t.Errorf("%s runs as %q, want root (no USER)", ref, user)
			}
		}
	}
}

// actionName is action.yml or verify/action.yml.
func actionName(file string) string {
	if filepath.Base(filepath.Dir(file)) == "verify" {
		return "verify/action.yml"
	}
	return "action.yml"
}
