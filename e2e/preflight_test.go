package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// assertUnsigned fails when img has more tags than before or any referrer:
// the run signed something.
func assertUnsigned(t *testing.T, img string, before []string) {
	t.Helper()
	if after := tags(t, img); !slices.Equal(before, after) {
		t.Errorf("the run wrote to the registry: tags %v, then %v", before, after)
	}
	d, _ := name.NewDigest(img)
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); len(m.Manifests) != 0 {
		t.Errorf("the run wrote %d referrers", len(m.Manifests))
	}
}

// TestPreflightUnwritableOutput runs the binary as a GitHub step whose
// GITHUB_OUTPUT lies under a regular file, which no user, root included,
// can write: exit 2 naming the file and the fix, and nothing signed.
func TestPreflightUnwritableOutput(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	blocker := filepath.Join(t.TempDir(), "_runner_file_commands")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := githubEnv(merge(trustInputs(stk.SigningConfigAll), map[string]string{"images": img, "signature-format": "both"}))
	env["GITHUB_OUTPUT"] = filepath.Join(blocker, "set_output_1")
	r := runKeyless(t, env)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"GITHUB_OUTPUT: cannot write " + env["GITHUB_OUTPUT"] + ": not a directory", "GitHub container actions must run as root"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "::error title=keyless::GITHUB_OUTPUT: cannot write") {
		t.Errorf("no error annotation:\n%s", r.stdout)
	}
	assertUnsigned(t, img, before)
}

// TestPreflightNonRootOnGitHub runs the binary as the Dockerfile once ran
// the action: as uid 65532, with the runner's file-command files and
// workspace owned by the runner's uid 1001 (directories 755, files 644).
// It exits 2 naming GITHUB_OUTPUT, both uids and the fix, and signs
// nothing; the same mounts as root pass.
func TestPreflightNonRootOnGitHub(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run keyless as another user")
	}
	img := pushImage(t)
	before := tags(t, img)
	base, err := os.MkdirTemp("", "keyless-runner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	mustChmod(t, base, 0o755)
	// What the container holds: the binary and the trust files, readable
	// by everyone.
	bin := filepath.Join(base, "keyless")
	installFile(t, keylessBin(t), bin, 0o755)
	root, signing := filepath.Join(base, "trusted_root.json"), filepath.Join(base, "signing_config.json")
	installFile(t, stk.TrustedRoot, root, 0o644)
	installFile(t, stk.SigningConfig, signing, 0o644)
	// What the runner mounts, owned by the runner's user.
	workspace, commands := filepath.Join(base, "workspace"), filepath.Join(base, "_runner_file_commands")
	output, summary := filepath.Join(commands, "set_output_1"), filepath.Join(commands, "step_summary_1")
	for _, d := range []string{workspace, commands} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{output, summary} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{workspace, commands, output, summary} {
		if err := os.Chown(p, 1001, 1001); err != nil {
			t.Fatal(err)
		}
	}
	env := stk.GitHubActionEnv(base, map[string]string{"images": img, "trusted-root": root, "signing-config": signing})
	env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"], env["GITHUB_WORKSPACE"] = output, summary, workspace

	code, stdout, stderr := runAs(t, bin, workspace, env, &syscall.Credential{Uid: 65532, Gid: 65532})
	if code != 2 {
		t.Fatalf("as uid 65532: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"GITHUB_OUTPUT: cannot write " + output + ": permission denied", "runs as uid 65532", "owned by uid 1001", "must run as root"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	assertUnsigned(t, img, before)

	// The control: the same mounts, as root (a dry run signs nothing).
	env["INPUT_DRY-RUN"] = "true"
	if code, stdout, stderr := runAs(t, bin, workspace, env, nil); code != 0 {
		t.Fatalf("as root: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(output); !strings.Contains(string(b), "digests<<") {
		t.Errorf("as root, GITHUB_OUTPUT holds no outputs:\n%s", b)
	}
}

// runAs runs bin in dir with exactly env, as cred (nil: this process's
// user).
func runAs(t *testing.T, bin, dir string, env map[string]string, cred *syscall.Credential) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sign")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatalf("running keyless: %v", err)
	}
	return 0, stdout.String(), stderr.String()
}

// installFile copies from to the path to with mode.
func installFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	mustChmod(t, to, mode)
}

func mustChmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
