package ci

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTektonPublish(t *testing.T) {
	outputs := [][2]string{{"digests", "r/a@sha256:1\nr/b@sha256:2"}, {"verified", "true"}, {"signatures", ""}}
	images := []string{"r/a@sha256:1", "r/b@sha256:2"}
	tests := []struct {
		name        string
		artifacts   Artifacts
		wantResults map[string]string
		wantOutput  map[string]string // relative to OutputDir
	}{
		{
			name:        "outputs only",
			artifacts:   Artifacts{Outputs: outputs, Images: images, Report: []byte(`{"r":1}`), Summary: "sum"},
			wantResults: map[string]string{"digests": "r/a@sha256:1\nr/b@sha256:2", "verified": "true", "signatures": ""},
		},
		{
			name:        "chains hints add IMAGES",
			artifacts:   Artifacts{Outputs: outputs, Images: images, ChainsHints: true},
			wantResults: map[string]string{"digests": "r/a@sha256:1\nr/b@sha256:2", "verified": "true", "signatures": "", "IMAGES": "r/a@sha256:1,r/b@sha256:2"},
		},
		{
			name:        "report and summary to the output dir",
			artifacts:   Artifacts{Outputs: outputs[1:2], Report: []byte(`{"r":1}`), Summary: "## sum\n", OutputDir: "workspace/out"},
			wantResults: map[string]string{"verified": "true"},
			wantOutput:  map[string]string{"report.json": `{"r":1}`, "summary.md": "## sum\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			results := filepath.Join(base, "results")
			if tt.artifacts.OutputDir != "" {
				tt.artifacts.OutputDir = filepath.Join(base, tt.artifacts.OutputDir)
			}
			var stdout bytes.Buffer
			if err := NewTekton(Env{Getenv: env(map[string]string{"KEYLESS_RESULTS_DIR": results}), Stdout: &stdout}).Publish(tt.artifacts); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			got := map[string]string{}
			for _, n := range listDir(t, results) {
				got[n] = readFile(t, filepath.Join(results, n))
			}
			if diff := cmp.Diff(tt.wantResults, got); diff != "" {
				t.Errorf("results mismatch (-want +got):\n%s", diff)
			}
			if tt.wantOutput != nil {
				gotOut := map[string]string{}
				for _, n := range listDir(t, tt.artifacts.OutputDir) {
					gotOut[n] = readFile(t, filepath.Join(tt.artifacts.OutputDir, n))
				}
				if diff := cmp.Diff(tt.wantOutput, gotOut); diff != "" {
					t.Errorf("output dir mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestTektonPublishResultLimit(t *testing.T) {
	tests := []struct {
		name      string
		artifacts Artifacts
		wantErr   bool
	}{
		{"exactly the limit", Artifacts{Outputs: [][2]string{{"a", strings.Repeat("x", ResultLimit-1)}, {"b", "y"}}}, false},
		{"over the limit across results", Artifacts{Outputs: [][2]string{{"a", strings.Repeat("x", ResultLimit)}, {"b", "y"}}}, true},
		{"IMAGES counts, and is left out when over", Artifacts{Outputs: [][2]string{{"a", strings.Repeat("x", ResultLimit-3)}}, Images: []string{"r/a@sha256:1"}, ChainsHints: true}, false},
		{"over the limit without bulky results", Artifacts{Outputs: [][2]string{{"a", strings.Repeat("x", ResultLimit-3)}, {"b", "1234"}}}, true},
		{"IMAGES ignored without chains hints", Artifacts{Outputs: [][2]string{{"a", strings.Repeat("x", ResultLimit-3)}}, Images: []string{"r/a@sha256:1"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := filepath.Join(t.TempDir(), "results")
			err := NewTekton(Env{Getenv: env(map[string]string{"KEYLESS_RESULTS_DIR": results}), Stdout: &bytes.Buffer{}}).Publish(tt.artifacts)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "budget") {
				t.Fatalf("Publish = %v, want a result budget error", err)
			}
			if _, err := os.Stat(results); !os.IsNotExist(err) {
				t.Errorf("results were written despite the error: %v", err)
			}
		})
	}
}

func TestTektonSection(t *testing.T) {
	var out bytes.Buffer
	end := NewTekton(Env{Getenv: env(nil), Stdout: &out}).Section("Verifying")
	end()
	if diff := cmp.Diff("--- Verifying\n", out.String()); diff != "" {
		t.Errorf("Section output mismatch (-want +got):\n%s", diff)
	}
}

func TestCLIPublish(t *testing.T) {
	report := []byte(`{"command":"verify","verified":true}`)
	tests := []struct {
		name      string
		outputDir string
		wantFiles map[string]string
	}{
		{"stdout only", "", nil},
		{"with output dir", "out", map[string]string{"report.json": string(report), "summary.md": "## summary\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout bytes.Buffer
			c := NewCLI(Env{Getenv: env(nil), Stdout: &stdout})
			if err := c.Publish(Artifacts{Outputs: [][2]string{{"verified", "true"}}, Report: report, Summary: "## summary\n", OutputDir: tt.outputDir}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if diff := cmp.Diff(string(report)+"\n", stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			entries, _ := os.ReadDir(".")
			if tt.wantFiles == nil {
				if len(entries) != 0 {
					t.Errorf("files written without an output dir: %v", entries)
				}
				return
			}
			got := map[string]string{}
			for _, n := range listDir(t, tt.outputDir) {
				got[n] = readFile(t, filepath.Join(tt.outputDir, n))
			}
			if diff := cmp.Diff(tt.wantFiles, got); diff != "" {
				t.Errorf("output files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCLISectionSilent(t *testing.T) {
	var out bytes.Buffer
	NewCLI(Env{Getenv: env(nil), Stdout: &out}).Section("x")()
	if out.Len() != 0 {
		t.Errorf("CLI Section wrote %q", out.String())
	}
}

func TestBuiltImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, url, digest, want string
	}{
		{"none", "", "", ""},
		{"repository and digest", "ghcr.io/o/app", digest, "ghcr.io/o/app@" + digest},
		{"a tag dropped for the digest", "ghcr.io/o/app:v1", digest, "ghcr.io/o/app@" + digest},
		{"a digest replaced by the result's", "ghcr.io/o/app@sha256:00", digest, "ghcr.io/o/app@" + digest},
		{"a url alone", "ghcr.io/o/app:v1", "", "ghcr.io/o/app:v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewTekton(Env{Getenv: env(map[string]string{"KEYLESS_IMAGE_URL": tc.url, "KEYLESS_IMAGE_DIGEST": tc.digest})})
			if diff := cmp.Diff(tc.want, p.BuiltImage()); diff != "" {
				t.Errorf("BuiltImage() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuiltImageTektonOnly: only Tekton reads KEYLESS_IMAGE_URL, which its
// Task sets from params. Elsewhere an earlier step (GITHUB_ENV, a GitLab
// dotenv report) could set it and add an image to what is signed.
func TestBuiltImageTektonOnly(t *testing.T) {
	vars := map[string]string{"KEYLESS_IMAGE_URL": "evil.example.com/x", "KEYLESS_IMAGE_DIGEST": "sha256:00"}
	for _, platform := range []string{"GITHUB_ACTIONS", "GITLAB_CI", ""} {
		e := map[string]string{platform: "true"}
		for k, v := range vars {
			e[k] = v
		}
		p, err := Detect(Env{Getenv: env(e)})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.(interface{ BuiltImage() string }); ok {
			t.Errorf("%T reads the build's image from the environment", p)
		}
	}
}
