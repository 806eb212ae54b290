package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// repo runs git in one repository.
type repo struct {
	ctx context.Context
	dir string
}

func (r repo) run(args ...string) (string, error) {
	cmd := exec.CommandContext(r.ctx, "git", append([]string{"-C", r.dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (r repo) lines(args ...string) ([]string, error) {
	out, err := r.run(args...)
	return strings.Fields(out), err
}

// commit returns the commit tag points at.
func (r repo) commit(tag string) (string, error) {
	out, err := r.run("rev-parse", "--verify", "--quiet", "refs/tags/"+tag+"^{commit}")
	return strings.TrimSpace(out), err
}

// pinned reports whether tag's action.yml runs an image by digest, as the
// release workflow's commit on top of the tag makes it.
func (r repo) pinned(tag string) (bool, error) {
	out, err := r.run("ls-tree", "refs/tags/"+tag, "action.yml")
	if err != nil || strings.TrimSpace(out) == "" {
		return false, err
	}
	yml, err := r.run("show", "refs/tags/"+tag+":action.yml")
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(yml, "\n") {
		if strings.HasPrefix(l, "  image: docker://") && strings.Contains(l, "@sha256:") {
			return true, nil
		}
	}
	return false, nil
}
