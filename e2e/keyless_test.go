package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/stack"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// keylessBin builds the keyless binary once per test run, from the main
// module, exactly as the container image builds it (static, no cgo).
func keylessBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyless-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath, buildErr = stack.Build(context.Background(), "./cmd/action", dir)
	})
	if buildErr != nil {
		t.Fatalf("building keyless: %v", buildErr)
	}
	return binPath
}

// result is what one run of the binary left behind.
type result struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
	files          map[string]string // every file the run wrote under its work dir
}

// runKeyless runs the binary with exactly env (no inherited variables) in a
// fresh working directory and collects what it wrote.
func runKeyless(t testing.TB, env map[string]string, args ...string) result {
	t.Helper()
	return runCommand(t, env, keylessBin(t), args...)
}

// runCommand runs a program as runKeyless runs keyless.
func runCommand(t testing.TB, env map[string]string, program string, args ...string) result {
	t.Helper()
	return runCommandFor(t, 3*time.Minute, env, program, args...)
}

// runCommandFor runs a program as runCommand does, for at most timeout.
func runCommandFor(t testing.TB, timeout time.Duration, env map[string]string, program string, args ...string) result {
	t.Helper()
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + work, "PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+strings.ReplaceAll(v, "$WORK", work))
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), files: map[string]string{}}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running keyless: %v", err)
		}
		r.code = ee.ExitCode()
	}
	_ = filepath.Walk(work, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(work, p)
			r.files[rel] = string(b)
		}
		return nil
	})
	r.outputs = parseGitHubOutput(t, r.files["github_output"])
	r.summary = r.files["step_summary.md"]
	return r
}

// parseGitHubOutput parses name<<DELIM blocks of a GITHUB_OUTPUT file.
func parseGitHubOutput(t testing.TB, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k, delim, ok := strings.Cut(line, "<<")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is not name<<delimiter", line)
		}
		var val []string
		for sc.Scan() && sc.Text() != delim {
			val = append(val, sc.Text())
		}
		out[k] = strings.Join(val, "\n")
	}
	return out
}

// githubEnv is the environment the runner gives a container action step;
// $WORK stands for the run's working directory.
func githubEnv(inputs map[string]string) map[string]string {
	return stk.GitHubActionEnv("$WORK", inputs)
}

// trustInputs points keyless at the stack's trust material.
func trustInputs(signingConfig string) map[string]string {
	return map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": signingConfig}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// assertNoToken fails when a JWT appears anywhere the run wrote, except in
// the ::add-mask:: command that hides it.
func assertNoToken(t *testing.T, r result, secrets ...string) {
	t.Helper()
	var rest strings.Builder
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "::add-mask::") {
			continue
		}
		rest.WriteString(line + "\n")
	}
	text := rest.String() + r.stderr + r.summary
	for k, v := range r.outputs {
		text += k + v
	}
	for k, v := range r.files {
		if k != "github_output" {
			text += v
		}
	}
	if m := jwtPattern.FindString(text); m != "" {
		t.Errorf("a JWT leaked into the run's output: %.20s…", m)
	}
	if strings.Contains(text, "PRIVATE KEY") {
		t.Errorf("private key material leaked into the run's output")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("secret %.8s… leaked into the run's output", s)
		}
	}
}

// assertMasked fails unless each secret was hidden with ::add-mask::, as
// GitHub needs before anything could print it.
func assertMasked(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && !strings.Contains(r.stdout, "::add-mask::"+s+"\n") {
			t.Errorf("secret %.8s… was not masked with ::add-mask::", s)
		}
	}
}

// tags lists a repository's tags, to show that a failed run wrote nothing.
func tags(t *testing.T, ref string) []string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := remote.List(r.Context())
	if err != nil {
		t.Fatalf("listing tags of %s: %v", r.Context(), err)
	}
	return ts
}
