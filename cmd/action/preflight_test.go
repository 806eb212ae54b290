package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPreflightBeforeSigning runs a GitHub step whose GITHUB_OUTPUT cannot
// be written (its directory is a regular file, which binds root too): the
// run exits 2 naming the file and the fix, before it signs anything.
func TestPreflightBeforeSigning(t *testing.T) {
	host, ref := echoingRegistry(t)
	work := t.TempDir()
	blocker := filepath.Join(work, "file_commands")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"GITHUB_OUTPUT", map[string]string{"GITHUB_OUTPUT": filepath.Join(blocker, "set_output")}, "GITHUB_OUTPUT: cannot write " + filepath.Join(blocker, "set_output") + ": not a directory"},
		{"step summary", map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(blocker, "summary")}, "GITHUB_STEP_SUMMARY: cannot write"},
		{"output-dir", map[string]string{"INPUT_OUTPUT-DIR": filepath.Join(blocker, "out")}, "output-dir: cannot write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": work,
				"INPUT_IMAGES": ref, "INPUT_IDENTITY-TOKEN": githubToken(t),
				"INPUT_TRUSTED-ROOT": "../conformance/testdata/trusted_root.json", "INPUT_SIGNING-CONFIG": "../conformance/testdata/signing_config.json",
				"INPUT_REGISTRY-USERNAME": "ci-bot", "INPUT_REGISTRY-PASSWORD": "pw-0123456789",
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"sign"}, func(k string) string { return env[k] }, &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInput, stderr.String())
			}
			for _, want := range []string{tc.want, "GitHub container actions must run as root"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if !strings.Contains(stdout.String(), "::error title=keyless::"+strings.SplitN(tc.want, ":", 2)[0]) {
				t.Errorf("no error annotation:\n%s", stdout.String())
			}
			if strings.Contains(stderr.String(), "resolved images") {
				t.Errorf("the run went on after the preflight:\n%s", stderr.String())
			}
		})
	}
	tag, _ := name.NewTag(host + "/app:v1")
	tags, err := remote.List(tag.Context(), remote.WithTransport(headerTransport{"X-Test-Push", "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1"}, tags); diff != "" {
		t.Errorf("the registry was written to (-want +got):\n%s", diff)
	}
}
