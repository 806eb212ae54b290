package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// detectShell is the command GitLab Runner's Docker executor gives a build
// container whose entrypoint is overridden: it finds a shell, which then
// reads the job's script from standard input.
const detectShell = `if [ -x /usr/local/bin/bash ]; then
	exec /usr/local/bin/bash
elif [ -x /usr/bin/bash ]; then
	exec /usr/bin/bash
elif [ -x /bin/bash ]; then
	exec /bin/bash
elif [ -x /usr/local/bin/sh ]; then
	exec /usr/local/bin/sh
elif [ -x /usr/bin/sh ]; then
	exec /usr/bin/sh
elif [ -x /bin/sh ]; then
	exec /bin/sh
elif [ -x /busybox/sh ]; then
	exec /busybox/sh
else
	echo shell not found
	exit 1
fi
`

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// jobScript is the script the runner feeds the shell: the variables
// exported, a cd to the project directory, then each script line echoed and
// run, stopping at the first failure.
func jobScript(env map[string]string, dir string, lines []string) string {
	var b strings.Builder
	b.WriteString("set -eo pipefail\nset +o noclobber\n")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("export " + k + "=" + shellQuote(env[k]) + "\n")
	}
	b.WriteString("cd " + shellQuote(dir) + "\n")
	for _, l := range lines {
		b.WriteString("echo " + shellQuote("$ "+l) + "\n" + l + "\n")
	}
	return b.String()
}

// TestContainerGitLabComponent runs the debug image as GitLab's Docker
// executor runs the sign component's job: the image and entrypoint from the
// instantiated template, the shell found by the runner's detection script,
// the script on its standard input with the CI_* variables, the job's
// variables and the id_tokens token, in a project directory of the runner.
func TestContainerGitLabComponent(t *testing.T) {
	_, debug := images(t)
	pull(t, debug)
	img := pushImage(t)
	const dir = "/builds/keyless-dev/demo"
	project := t.TempDir()
	trust := []string{stk.TrustedRoot, stk.SigningConfigAll}
	for _, f := range trust {
		copyFile(t, f, project)
	}
	chownTree(t, project, 1000)
	job := instantiateJob(t, "gitlab/templates/sign.yml", map[string]string{
		"image": byDigest(debug), "images": img, "signature-format": "both",
		"trusted-root":   dir + "/" + filepath.Base(stk.TrustedRoot),
		"signing-config": dir + "/" + filepath.Base(stk.SigningConfigAll),
	})
	env := gitlabEnv(job.Variables, mint(t, "gitlab"))
	code, stdout, stderr := runGitLabJob(t, "gitlab/templates/sign.yml", job, env, project, dir)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(project, "keyless", f))
		if err != nil {
			t.Errorf("the job left no %s: %v", f, err)
		}
		return string(b)
	}
	dotenv := read("keyless.env")
	for _, want := range []string{
		"KEYLESS_DIGESTS=" + img + "\n", "KEYLESS_SIGNED_IDENTITY=" + gitlabIdentity + "\n",
		"KEYLESS_VERIFIED=true\n",
	} {
		if !strings.Contains(dotenv, want) {
			t.Errorf("dotenv lacks %q:\n%s", want, dotenv)
		}
	}
	if s := read("summary.md"); !strings.Contains(s, "✅") || !strings.Contains(s, gitlabIdentity) {
		t.Errorf("summary.md lacks ✅ or the identity:\n%s", s)
	}
	for _, f := range []string{"annotations.json", "report.json"} {
		if read(f) == "" {
			t.Errorf("%s is empty", f)
		}
	}
	if !strings.Contains(stdout, "$ /keyless sign") {
		t.Errorf("the job log lacks the script line:\n%s", stdout)
	}
	assertNoToken(t, result{stdout: stdout, stderr: stderr}, env["CI_REGISTRY_PASSWORD"])
	for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
		c.accepts(t, img, gitlabIdentity, stk.Issuer("gitlab"))
	}

	// The verify component in the next stage, with the sign job's dotenv
	// report (and then a hostile one) over its variables, as GitLab
	// applies them: another identity fails, the hostile report is refused.
	for _, tc := range []struct {
		name, identity, dotenv string
		code                   int
	}{
		{"the signer", gitlabIdentity, dotenv, 0},
		{"another identity", otherGitLabIdentity, dotenv, 1},
		{"a hostile dotenv", otherGitLabIdentity, dotenv + hostileDotenv(img), 2},
	} {
		t.Run("verify as "+tc.name, func(t *testing.T) {
			vjob := instantiateJob(t, "gitlab/templates/verify.yml", map[string]string{
				"image": byDigest(debug), "images": img, "signature-format": "both",
				"certificate-identity": tc.identity, "certificate-oidc-issuer": stk.Issuer("gitlab"),
				"trusted-root": dir + "/" + filepath.Base(stk.TrustedRoot), "output-dir": "verify-" + strings.ReplaceAll(tc.name, " ", "-"),
			})
			code, stdout, stderr := runGitLabJob(t, "gitlab/templates/verify.yml", vjob, withDotenv(gitlabEnv(vjob.Variables, ""), tc.dotenv), project, dir)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}

// runGitLabJob runs an instantiated component job as the Docker executor
// does, in a project directory mounted at dir.
func runGitLabJob(t *testing.T, what string, job gitlabJob, env map[string]string, project, dir string) (int, string, string) {
	t.Helper()
	env = merge(env)
	env["CI_PROJECT_DIR"], env["CI_BUILDS_DIR"] = dir, "/builds"
	args := []string{"-i", "-v", project + ":" + dir}
	if slices.Equal(job.Image.Entrypoint, []string{""}) {
		args = append(args, "--entrypoint=")
	} else if len(job.Image.Entrypoint) > 0 {
		t.Fatalf("entrypoint %q: the simulation handles only [\"\"]", job.Image.Entrypoint)
	}
	args = append(args, job.Image.Name, "sh", "-c", detectShell)
	return timedRun(t, what, nil, jobScript(env, dir, job.Script), args...)
}
