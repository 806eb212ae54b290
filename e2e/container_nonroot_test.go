package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerGitHubNonRoot runs the action image as the earlier
// Dockerfile did (USER nonroot) with the runner's mounts: it cannot write
// its outputs, so it must stop before signing, leaving no signature.
func TestContainerGitHubNonRoot(t *testing.T) {
	static, _ := images(t)
	img := pushImage(t)
	r := runAction(t, repoFile("action.yml"), static, map[string]string{
		"images": img, "trusted-root": "/github/workspace/" + filepath.Base(stk.TrustedRoot),
		"signing-config": "/github/workspace/" + filepath.Base(stk.SigningConfig),
	}, []string{stk.TrustedRoot, stk.SigningConfig}, "65532:65532")
	if r.code == 0 {
		t.Fatalf("a non-root run with the runner's mounts succeeded\n%s", r.stderr)
	}
	if n := signatureCount(t, img); n != 0 {
		t.Errorf("exit %d but %d signature(s) written: a run that cannot report must not sign\nstderr:\n%s", r.code, n, r.stderr)
	}
	if r.code != 2 || !strings.Contains(r.stderr, "/github/") {
		t.Errorf("exit %d, want 2 naming the unwritable path\nstderr:\n%s", r.code, r.stderr)
	}
}
