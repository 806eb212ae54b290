package ci

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDotenv(t *testing.T) {
	tests := []struct {
		name    string
		outputs [][2]string
		want    string
	}{
		{"none", nil, ""},
		{"names upper-cased, hyphens to underscores", [][2]string{{"certificate-oidc-issuer", "https://gitlab.com"}, {"verified", "true"}},
			"KEYLESS_SIGNED_OIDC_ISSUER=https://gitlab.com\nKEYLESS_VERIFIED=true\n"},
		{"multi-line values joined by commas", [][2]string{{"digests", "r/a@sha256:1\nr/b@sha256:2\n"}}, "KEYLESS_DIGESTS=r/a@sha256:1,r/b@sha256:2\n"},
		{"empty value", [][2]string{{"signatures", ""}}, "KEYLESS_SIGNATURES=\n"},
		{"the identity under a name no input has", [][2]string{{"certificate-identity", "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"}},
			"KEYLESS_SIGNED_IDENTITY=https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Dotenv(tt.outputs)); diff != "" {
				t.Errorf("Dotenv mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitLabSection(t *testing.T) {
	var out bytes.Buffer
	g := NewGitLab(Env{Getenv: env(nil), Stdout: &out})
	g.now = func() time.Time { return time.Unix(1700000000, 0) }
	end := g.Section("Signing ghcr.io/o/app: 2 images, with a very long title")
	end()
	id := "signing_ghcr_io_o_app_2_images_with_a_ve"
	want := "\x1b[0Ksection_start:1700000000:" + id + "[collapsed=true]\r\x1b[0KSigning ghcr.io/o/app: 2 images, with a very long title\n" +
		"\x1b[0Ksection_end:1700000000:" + id + "\r\x1b[0K\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("Section output mismatch (-want +got):\n%s", diff)
	}
}

func TestGitLabPublish(t *testing.T) {
	artifacts := Artifacts{
		Outputs: [][2]string{
			{"digests", "registry.gitlab.com/g/app@sha256:1\nregistry.gitlab.com/g/app@sha256:2"},
			{"verified", "true"},
		},
		Summary: "## keyless sign — ✅\n",
		Report:  []byte(`{"command":"sign"}`),
		Annotations: []Link{
			{Label: "registry.gitlab.com/g/app@sha256:1 (bundle)", URL: "https://search.sigstore.dev/?logIndex=1"},
			{Label: "registry.gitlab.com/g/app@sha256:2 (bundle)", URL: "https://search.sigstore.dev/?logIndex=2"},
		},
	}
	tests := []struct {
		name      string
		outputDir string
		wantDir   string
		links     []Link
	}{
		{"default directory keyless", "", "keyless", artifacts.Annotations},
		{"output dir", "out/signing", "out/signing", artifacts.Annotations},
		{"no annotations", "", "keyless", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			a := artifacts
			a.OutputDir, a.Annotations = tt.outputDir, tt.links
			var stdout bytes.Buffer
			if err := NewGitLab(Env{Getenv: env(nil), Stdout: &stdout}).Publish(a); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if diff := cmp.Diff([]string{"annotations.json", "keyless.env", "report.json", "summary.md"}, listDir(t, tt.wantDir)); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
			got := map[string]string{}
			for _, f := range []string{"keyless.env", "summary.md", "report.json"} {
				got[f] = readFile(t, filepath.Join(tt.wantDir, f))
			}
			want := map[string]string{
				"keyless.env": "KEYLESS_DIGESTS=registry.gitlab.com/g/app@sha256:1,registry.gitlab.com/g/app@sha256:2\nKEYLESS_VERIFIED=true\n",
				"summary.md":  artifacts.Summary,
				"report.json": string(artifacts.Report),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("file contents mismatch (-want +got):\n%s", diff)
			}

			// annotations.json in GitLab's format: {"keyless":[{"external_link":{"label","url"}}]}.
			raw := readFile(t, filepath.Join(tt.wantDir, "annotations.json"))
			var generic map[string][]map[string]map[string]string
			if err := json.Unmarshal([]byte(raw), &generic); err != nil {
				t.Fatalf("annotations.json is not GitLab's format: %v\n%s", err, raw)
			}
			var wantAnn []map[string]map[string]string
			for _, l := range tt.links {
				wantAnn = append(wantAnn, map[string]map[string]string{"external_link": {"label": l.Label, "url": l.URL}})
			}
			if wantAnn == nil {
				wantAnn = []map[string]map[string]string{}
			}
			if diff := cmp.Diff(map[string][]map[string]map[string]string{"keyless": wantAnn}, generic); diff != "" {
				t.Errorf("annotations.json mismatch (-want +got):\n%s", diff)
			}
			if stdout.Len() != 0 {
				t.Errorf("Publish wrote to stdout: %q", stdout.String())
			}
		})
	}
}

func TestGitLabPublishDotenvLimit(t *testing.T) {
	line := func(n int) [][2]string {
		// "KEYLESS_X=" is 10 bytes, plus the value, plus the newline.
		return [][2]string{{"x", strings.Repeat("a", n-11)}}
	}
	tests := []struct {
		name    string
		outputs [][2]string
		wantErr bool
	}{
		{"exactly 5 KiB", line(5 * 1024), false},
		{"one byte over", line(5*1024 + 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			err := NewGitLab(Env{Getenv: env(nil), Stdout: &bytes.Buffer{}}).Publish(Artifacts{Outputs: tt.outputs, Report: []byte("{}")})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				if got := len(readFile(t, "keyless/keyless.env")); got != 5*1024 {
					t.Errorf("keyless.env is %d bytes, want %d", got, 5*1024)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "limit") {
				t.Fatalf("Publish = %v, want a dotenv size error", err)
			}
			if _, err := os.Stat("keyless"); !os.IsNotExist(err) {
				t.Errorf("files were written despite the error: %v", err)
			}
		})
	}
}
