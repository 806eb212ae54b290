package ci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// commandTimeout bounds each command a platform adapter runs to publish a
// run (the Buildkite agent's meta-data, annotate and artifact commands).
const commandTimeout = 2 * time.Minute

// lookPath finds an executable named file in the directories of the PATH
// that getenv reads, as exec.LookPath does in the process's.
func lookPath(getenv func(string) string, file string) (string, bool) {
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// runCommand runs path with args in dir ("" for the current directory),
// stdin on its standard input, within commandTimeout. A failure names the
// command and ends with the last line of its standard error.
func runCommand(path, dir, stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		name := strings.Join(append([]string{filepath.Base(path)}, args...), " ")
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
			return fmt.Errorf("%s: %w: %s", name, err, OneLine(last))
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
