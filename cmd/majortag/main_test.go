package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// git runs git in dir or fails t.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// release commits action.yml (pinned to an image by digest, or running
// the Dockerfile as before a release), tags the commit and pushes the tag
// (forced, as the release workflow moves it to its pin commit).
func release(t *testing.T, dir, tag string, pinned bool) string {
	t.Helper()
	image := "Dockerfile"
	if pinned {
		image = "docker://ghcr.io/keyless-dev/keyless:" + tag + "@sha256:" + strings.Repeat("a", 64)
	}
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte("runs:\n  using: docker\n  image: "+image+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "action.yml")
	git(t, dir, "commit", "--quiet", "--allow-empty", "-m", "release "+tag)
	git(t, dir, "tag", "--force", "-a", "-m", "keyless "+tag, tag)
	git(t, dir, "push", "--quiet", "--force", "origin", "refs/tags/"+tag)
	return git(t, dir, "rev-parse", "HEAD")
}

// TestRunMovesToHighestPinned runs majortag as the release workflow does,
// on a clone of a repository with releases, and checks where origin's
// major tags end.
func TestRunMovesToHighestPinned(t *testing.T) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
	} {
		t.Setenv(k, v)
	}
	origin := filepath.Join(t.TempDir(), "origin.git")
	work := t.TempDir()
	git(t, ".", "init", "--quiet", "--bare", origin)
	git(t, work, "init", "--quiet")
	git(t, work, "remote", "add", "origin", origin)

	at := map[string]string{}
	moves := func(rel string) {
		t.Helper()
		if err := run(context.Background(), []string{"-C", work, "-push", rel}, io.Discard, io.Discard); err != nil {
			t.Fatalf("majortag %s: %v", rel, err)
		}
	}
	onOrigin := func(major string) string {
		t.Helper()
		out, err := exec.Command("git", "-C", origin, "rev-parse", "--verify", "--quiet", "refs/tags/"+major+"^{commit}").Output()
		if err != nil {
			return "" // no such tag
		}
		return strings.TrimSpace(string(out))
	}
	steps := []struct {
		name    string
		tag     string
		pinned  bool
		release string // whose run moves the major tag
		major   string
		want    string // the release the major tag must be at afterwards
	}{
		{"the first release", "v1.0.0", true, "v1.0.0", "v1", "v1.0.0"},
		{"a new minor", "v1.2.0", true, "v1.2.0", "v1", "v1.2.0"},
		{"a patch to an older minor", "v1.0.5", true, "v1.0.5", "v1", "v1.2.0"},
		{"a pre-release", "v1.3.0-rc.1", true, "v1.2.0", "v1", "v1.2.0"},
		{"a higher release still being built", "v1.3.0", false, "v1.0.5", "v1", "v1.2.0"},
		{"its pin commit", "v1.3.0", true, "v1.3.0", "v1", "v1.3.0"},
		{"a run whose own move was skipped", "v1.4.0", true, "v1.0.5", "v1", "v1.4.0"},
		{"a numerically higher minor", "v1.10.0", true, "v1.10.0", "v1", "v1.10.0"},
		{"a lower one after it", "v1.9.0", true, "v1.9.0", "v1", "v1.10.0"},
		{"another major", "v2.0.0", true, "v2.0.0", "v2", "v2.0.0"},
		{"an older major's patch leaves the newer one", "v1.10.1", true, "v1.10.1", "v2", "v2.0.0"},
	}
	for _, s := range steps {
		at[s.tag] = release(t, work, s.tag, s.pinned)
		moves(s.release)
		if diff := cmp.Diff(at[s.want], onOrigin(s.major)); diff != "" {
			t.Errorf("%s (%s, then majortag %s): %s is not at %s (-want +got):\n%s", s.name, s.tag, s.release, s.major, s.want, diff)
		}
	}
}

func TestRunRefusesNonRelease(t *testing.T) {
	for _, args := range [][]string{{"v1.2.3-rc.1"}, {"v1"}, {}, {"v1.2.3", "v1.2.4"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("majortag %q: no error, want a refusal", args)
		}
	}
}
