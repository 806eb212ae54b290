package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds a command of the main module (e.g. "./cmd/action") as the
// container image builds it — static, no cgo — into dir, and returns the
// binary's path. It runs from the e2e module's directory. flags go to go
// build (e.g. -overlay, for a profiling hook).
func Build(ctx context.Context, pkg, dir string, flags ...string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	if pkg == "./cmd/action" {
		bin = filepath.Join(dir, "keyless")
	}
	args := append(append([]string{"build", "-trimpath"}, flags...), "-o", bin, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
