package ci

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listDir returns the names of the files in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// name is the KEYLESS_PLATFORM name of p's adapter.
func name(p Platform) string {
	switch p.(type) {
	case *GitHub:
		return "github"
	case *GitLab:
		return "gitlab"
	case *Tekton:
		return "tekton"
	case *Buildkite:
		return "buildkite"
	case *CircleCI:
		return "circleci"
	case *CLI:
		return "cli"
	}
	return fmt.Sprintf("%T", p)
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default cli", env: map[string]string{}, want: "cli"},
		{name: "github", env: map[string]string{"GITHUB_ACTIONS": "true"}, want: "github"},
		{name: "GITHUB_ACTIONS must be true", env: map[string]string{"GITHUB_ACTIONS": "1"}, want: "cli"},
		{name: "gitlab", env: map[string]string{"GITLAB_CI": "true"}, want: "gitlab"},
		{name: "tekton by KEYLESS_RESULTS_DIR", env: map[string]string{"KEYLESS_RESULTS_DIR": "/tekton/results"}, want: "tekton"},
		{name: "tekton by TEKTON_RESULTS_DIR", env: map[string]string{"TEKTON_RESULTS_DIR": "/tekton/results"}, want: "tekton"},
		{name: "github before gitlab", env: map[string]string{"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, want: "github"},
		{name: "buildkite", env: map[string]string{"BUILDKITE": "true"}, want: "buildkite"},
		{name: "circleci", env: map[string]string{"CIRCLECI": "true"}, want: "circleci"},
		{name: "override contradicts buildkite", env: map[string]string{"KEYLESS_PLATFORM": "circleci", "BUILDKITE": "true"}, wantErr: "a buildkite job"},
		{name: "override circleci", env: map[string]string{"KEYLESS_PLATFORM": "circleci"}, want: "circleci"},
		// A step's variables (GITHUB_ENV, a dotenv report) may not switch
		// keyless to another platform's inputs.
		{name: "override contradicts github", env: map[string]string{"KEYLESS_PLATFORM": "cli", "GITHUB_ACTIONS": "true"}, wantErr: "a github job"},
		{name: "override contradicts gitlab", env: map[string]string{"KEYLESS_PLATFORM": "tekton", "GITLAB_CI": "true"}, wantErr: "a gitlab job"},
		{name: "override agrees with detection", env: map[string]string{"KEYLESS_PLATFORM": "tekton", "KEYLESS_RESULTS_DIR": "/tekton/results"}, want: "tekton"},
		{name: "override gitlab", env: map[string]string{"KEYLESS_PLATFORM": "gitlab"}, want: "gitlab"},
		{name: "override tekton", env: map[string]string{"KEYLESS_PLATFORM": "tekton"}, want: "tekton"},
		{name: "override github", env: map[string]string{"KEYLESS_PLATFORM": "github"}, want: "github"},
		{name: "unknown override", env: map[string]string{"KEYLESS_PLATFORM": "jenkins", "GITHUB_ACTIONS": "true"}, wantErr: `KEYLESS_PLATFORM="jenkins"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Detect(Env{Getenv: env(tt.env)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Detect() = %v, %v; want error containing %q", p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, name(p)); diff != "" {
				t.Errorf("Detect() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInput(t *testing.T) {
	e := env(map[string]string{
		"INPUT_SIGNATURE-FORMAT":   " both\n",
		"INPUT_IMAGES":             "ghcr.io/o/a:v1\nghcr.io/o/b:v1\n",
		"KEYLESS_SIGNATURE_FORMAT": " legacy ",
		"KEYLESS_IMAGES":           "r/a:1",
	})
	tests := []struct {
		platform Platform
		input    string
		want     string
	}{
		{NewGitHub(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "both"},
		{NewGitHub(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "images", "ghcr.io/o/a:v1\nghcr.io/o/b:v1"},
		{NewGitHub(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "missing", ""},
		{NewGitLab(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "legacy"},
		{NewTekton(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "legacy"},
		{NewCLI(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "legacy"},
		{NewCLI(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "images", "r/a:1"},
		{NewBuildkite(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "legacy"},
		{NewCircleCI(Env{Getenv: e, Stdout: &bytes.Buffer{}}), "signature-format", "legacy"},
	}
	for _, tt := range tests {
		t.Run(name(tt.platform)+"/"+tt.input, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.platform.Input(tt.input)); diff != "" {
				t.Errorf("Input(%q) mismatch (-want +got):\n%s", tt.input, diff)
			}
		})
	}
}

func TestMaskOnlyOnGitHub(t *testing.T) {
	tests := []struct {
		name string
		new  func(func(string) string, *bytes.Buffer) Platform
		want string
	}{
		{"github", func(e func(string) string, b *bytes.Buffer) Platform { return NewGitHub(Env{Getenv: e, Stdout: b}) }, "::add-mask::s3cr3t\n"},
		{"gitlab", func(e func(string) string, b *bytes.Buffer) Platform { return NewGitLab(Env{Getenv: e, Stdout: b}) }, ""},
		{"tekton", func(e func(string) string, b *bytes.Buffer) Platform { return NewTekton(Env{Getenv: e, Stdout: b}) }, ""},
		{"cli", func(e func(string) string, b *bytes.Buffer) Platform { return NewCLI(Env{Getenv: e, Stdout: b}) }, ""},
		{"buildkite", func(e func(string) string, b *bytes.Buffer) Platform { return NewBuildkite(Env{Getenv: e, Stdout: b}) }, ""},
		{"circleci", func(e func(string) string, b *bytes.Buffer) Platform { return NewCircleCI(Env{Getenv: e, Stdout: b}) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.new(env(nil), &out).Mask("s3cr3t")
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("Mask output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	p, err := writeFile(dir, "f.txt", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(filepath.Join(dir, "f.txt"), p); diff != "" {
		t.Errorf("path mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("data", readFile(t, p)); diff != "" {
		t.Errorf("content mismatch (-want +got):\n%s", diff)
	}

	// A file where the directory should be.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeFile(blocker, "f.txt", nil); err == nil || !strings.Contains(err.Error(), "creating output directory") {
		t.Errorf("writeFile under a file = %v, want a directory error", err)
	}
}
