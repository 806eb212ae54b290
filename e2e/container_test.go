package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The images the container tests run: scripts/image's two lines (the debug
// variant, then the image action.yml runs), built once per test run unless
// KEYLESS_E2E_IMAGE and KEYLESS_E2E_IMAGE_DEBUG name them already.
var (
	imageOnce               sync.Once
	staticImage, debugImage string
	imageErr                error
)

// images returns the digest references of the static and debug images.
func images(t testing.TB) (static, debug string) {
	t.Helper()
	imageOnce.Do(func() {
		staticImage, debugImage = os.Getenv("KEYLESS_E2E_IMAGE"), os.Getenv("KEYLESS_E2E_IMAGE_DEBUG")
		if staticImage != "" && debugImage != "" {
			return
		}
		var lines []string
		lines, imageErr = scriptLines(context.Background(), nil, "../scripts/image")
		if imageErr == nil && len(lines) < 2 {
			imageErr = io.ErrUnexpectedEOF
		}
		if imageErr == nil {
			debugImage, staticImage = lines[len(lines)-2], lines[len(lines)-1]
		}
	})
	if imageErr != nil {
		t.Fatalf("building the image with scripts/image: %v", imageErr)
	}
	return staticImage, debugImage
}

// scriptLines runs a script with extra environment and returns its stdout
// lines; stderr goes to the test log on failure.
func scriptLines(ctx context.Context, env []string, script string, args ...string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Env = append(os.Environ(), "KEYLESS_IMAGE_REPO="+stk.Registry+"/keyless")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &scriptError{script, err, stderr.String()}
	}
	return strings.Fields(stdout.String()), nil
}

type scriptError struct {
	script string
	err    error
	stderr string
}

func (e *scriptError) Error() string { return e.script + ": " + e.err.Error() + "\n" + e.stderr }

// byDigest drops the tag of repo:tag@sha256:… (podman wants one or the other).
func byDigest(ref string) string {
	d, err := name.NewDigest(ref)
	if err != nil {
		return ref
	}
	return d.Context().Name() + "@" + d.DigestStr()
}

// podman runs podman with runc and ulimits left to the host (the two
// settings these machines need), feeding stdin and passing env to the
// podman process (for -e NAME, which copies a variable's value as
// GitHub's runner does). It returns the exit code and the output.
func podman(t testing.TB, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append([]string{"--runtime", "runc"}, args...)...)
	cmd.Env = append([]string{"CONTAINERS_CONF=" + conf, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return code, o.String(), e.String()
}

// pull fetches an image from the stack's plain-HTTP registry into podman's
// store, so that the timed runs measure the run alone.
func pull(t testing.TB, ref string) {
	t.Helper()
	start := time.Now()
	if code, _, stderr := podman(t, nil, "", "pull", "-q", "--tls-verify=false", byDigest(ref)); code != 0 {
		t.Fatalf("podman pull %s: exit %d\n%s", ref, code, stderr)
	}
	t.Logf("pulled %s in %s", ref, time.Since(start).Round(time.Millisecond))
}

// timedRun runs the container and logs its wall time.
func timedRun(t testing.TB, what string, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	start := time.Now()
	code, stdout, stderr := podman(t, env, stdin, append([]string{"run", "--rm", "--network", "host"}, args...)...)
	t.Logf("container run %s: exit %d in %s", what, code, time.Since(start).Round(time.Millisecond))
	return code, stdout, stderr
}

// chownTree gives a directory tree to uid:gid with the modes a runner's
// files have (directories 755, files 644).
func chownTree(t testing.TB, root string, uid int) {
	t.Helper()
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src into dir and returns the new path.
func copyFile(t testing.TB, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// signatureCount counts the bundle referrers and legacy .sig tags of img.
func signatureCount(t testing.TB, img string) int {
	t.Helper()
	bundles, err := stk.Bundles(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(img)
	if err != nil {
		t.Fatal(err)
	}
	n := len(bundles)
	ts, err := remote.List(d.Context())
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig"
	for _, tag := range ts {
		if tag == legacy {
			n++
		}
	}
	return n
}

// imageIndex reads the image index ref and its manifest.
func imageIndex(t testing.TB, ref string) (name.Digest, v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return d, idx, im
}

// imageUsers returns the configured user of each platform image of ref.
func imageUsers(t testing.TB, ref string) []string {
	t.Helper()
	_, idx, im := imageIndex(t, ref)
	var users []string
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, cfg.Config.User)
	}
	if len(users) != 2 {
		t.Errorf("%s has %d platforms, want linux/amd64 and linux/arm64", ref, len(users))
	}
	return users
}
