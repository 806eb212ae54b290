package ci

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
)

// fakeAgent writes a buildkite-agent (or circleci) on a PATH of its own
// that records each call, as "dir|args|stdin", into calls; prints TOKEN
// for a token command and fails for arguments that contain fail.
func fakeAgent(t *testing.T, name string) (path, calls string) {
	t.Helper()
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := `#!/bin/sh
case "$*" in *fail*) echo "fatal: refused" >&2; exit 1;; esac
{ printf '%s|%s|' "$PWD" "$*"; cat; printf '\n'; } >> ` + calls + `
case "$1 $2" in "oidc request-token"|"run oidc") echo TOKEN;; esac
`
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, calls
}

// callLines returns the recorded calls, with dir replaced by DIR.
func callLines(t *testing.T, calls, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(b), dir, "DIR"), "\n"), "\n")
}

func TestPluginOptions(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      map[string]string
		err       string
	}{
		{"values as written", `{"images-from":["a.json","b.txt"],"verify":false,"concurrency":8,"signature-format":"both","images":null,"mode":"sign"}`,
			map[string]string{"images-from": "a.json\nb.txt", "verify": "false", "concurrency": "8", "signature-format": "both", "images": "", "mode": "sign"}, ""},
		{"a mapping", `{"annotations":{"a":"b"}}`, nil, "annotations: the plugin option annotations holds a mapping"},
		{"not JSON", `images: x`, nil, "KEYLESS_PLUGIN_CONFIGURATION is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pluginOptions(tc.raw)
			if tc.err != "" {
				if err == nil || !input.Is(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("pluginOptions = %v, want an input error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildkiteInputs: with the plugin, inputs are its options alone
// (KEYLESS_* variables are not read), and Options names keyless's, not
// the hook's; without it, KEYLESS_<NAME> as on the command line.
func TestBuildkiteInputs(t *testing.T) {
	e := map[string]string{"KEYLESS_SIGNATURE_FORMAT": "legacy", "KEYLESS_IMAGES": "r/a:1",
		pluginConfiguration: `{"signature-format":" both ","image":"ghcr.io/keyless-dev/keyless:v1","mode":"verify","typo":"x"}`}
	b := NewBuildkite(Env{Getenv: env(e)})
	got := map[string]string{"signature-format": b.Input("signature-format"), "images": b.Input("images"), "source": b.Source("images")}
	if diff := cmp.Diff(map[string]string{"signature-format": "both", "images": "", "source": "the plugin option images"}, got); diff != "" {
		t.Errorf("plugin inputs mismatch (-want +got):\n%s", diff)
	}
	names, err := b.Options()
	if err != nil || !cmp.Equal(names, []string{"signature-format", "typo"}) {
		t.Errorf("Options() = %v, %v; want keyless's options", names, err)
	}
	delete(e, pluginConfiguration)
	b = NewBuildkite(Env{Getenv: env(e)})
	if got, src := b.Input("signature-format"), b.Source("images"); got != "legacy" || src != "KEYLESS_IMAGES" {
		t.Errorf("without the plugin: Input = %q, Source = %q", got, src)
	}
	if names, err := b.Options(); names != nil || err != nil {
		t.Errorf("without the plugin: Options() = %v, %v", names, err)
	}
}

// TestBuildkitePublish runs Publish with a fake agent: the files are
// written and uploaded from the output directory, every non-empty output
// is set as meta-data from standard input, and the summary annotates the
// build in the style of the run's verdict, under the step's context.
func TestBuildkitePublish(t *testing.T) {
	for _, ok := range []bool{true, false} {
		t.Run(map[bool]string{true: "success", false: "error"}[ok], func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			path, calls := fakeAgent(t, "buildkite-agent")
			var out bytes.Buffer
			b := NewBuildkite(Env{Getenv: env(map[string]string{"PATH": path, "BUILDKITE_STEP_KEY": "sign images", "BUILDKITE_JOB_ID": "j"}), Stdout: &out})
			err := b.Publish(Artifacts{
				Outputs: [][2]string{{"digests", "r/a@sha256:1\nr/b@sha256:2"}, {"signatures", ""}, {"certificate-identity", "https://buildkite.com/acme/app"}},
				Summary: "## keyless sign\n", Report: []byte(`{"command":"sign"}`), OK: ok,
				Files: map[string][]byte{"kyverno-policy.yaml": []byte("kind: ClusterPolicy\n")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"kyverno-policy.yaml", "report.json", "summary.md"}, listDir(t, "keyless")); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
			style := map[bool]string{true: "success", false: "error"}[ok]
			want := []string{
				"DIR/keyless|artifact upload kyverno-policy.yaml;report.json;summary.md|",
				"DIR|meta-data set keyless-digests|r/a@sha256:1", "r/b@sha256:2",
				"DIR|meta-data set keyless-certificate-identity|https://buildkite.com/acme/app",
				"DIR|annotate --style " + style + " --context keyless-sign-images|## keyless sign", "",
			}
			if diff := cmp.Diff(want, callLines(t, calls, work)); diff != "" {
				t.Errorf("agent calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildkitePublishLimits: an annotation is cut at the agent's 1 MiB
// with a note naming the artifact, and an output over 100 KB is left out
// of the meta-data with an omitted note.
func TestBuildkitePublishLimits(t *testing.T) {
	t.Chdir(t.TempDir())
	path, calls := fakeAgent(t, "buildkite-agent")
	var out bytes.Buffer
	b := NewBuildkite(Env{Getenv: env(map[string]string{"PATH": path}), Stdout: &out})
	summary := strings.Repeat("| r/a@sha256:… | ✅ |\n", 80_000)
	digests := strings.Repeat("r/a@sha256:0000000000000000000000000000000000000000000000000000000000000000\n", 2000)
	if err := b.Publish(Artifacts{Outputs: [][2]string{{"digests", digests}, {"verified", "true"}}, Summary: summary, Report: []byte("{}"), OK: true}); err != nil {
		t.Fatal(err)
	}
	raw := readFile(t, calls)
	i := strings.Index(raw, "|annotate ")
	if i < 0 {
		t.Fatalf("no annotation:\n%.300s", raw)
	}
	body := raw[strings.Index(raw[i+1:], "|")+i+2:]
	if n := len(body) - 1; n > annotationLimit || !strings.Contains(body, "over Buildkite's 1048576-byte limit. The full report is the report.json artifact.") {
		t.Errorf("annotation of %d bytes, ending %q", n, body[max(0, len(body)-200):])
	}
	if strings.Contains(raw, "keyless-digests") || !strings.Contains(raw, "meta-data set keyless-omitted|digests left out") || !strings.Contains(raw, "meta-data set keyless-verified|true") {
		t.Errorf("meta-data calls:\n%s", strings.Join(strings.Split(raw, "\n")[:8], "\n"))
	}
	if !strings.Contains(out.String(), "digests left out") {
		t.Errorf("the log does not say what was left out: %q", out.String())
	}
}

// TestBuildkitePublishFails: an agent command that fails is the run's
// failure, naming the command and the agent's last word.
func TestBuildkitePublishFails(t *testing.T) {
	t.Chdir(t.TempDir())
	path, _ := fakeAgent(t, "buildkite-agent")
	b := NewBuildkite(Env{Getenv: env(map[string]string{"PATH": path}), Stdout: &bytes.Buffer{}})
	err := b.Publish(Artifacts{Outputs: [][2]string{{"fail", "x"}}, Report: []byte("{}")})
	if err == nil || !strings.Contains(err.Error(), "setting the fail output: buildkite-agent meta-data set keyless-fail: exit status 1: fatal: refused") {
		t.Errorf("Publish = %v", err)
	}
}

// TestBuildkiteAnnotate: a run's failure annotates the build in the error
// style, the message fenced so that nothing in it renders.
func TestBuildkiteAnnotate(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	path, calls := fakeAgent(t, "buildkite-agent")
	NewBuildkite(Env{Getenv: env(map[string]string{"PATH": path, "BUILDKITE_STEP_ID": "0190-ab"}), Stdout: &bytes.Buffer{}}).Annotate("images: <img src=x> ``` x")
	want := []string{"DIR|annotate --style error --context keyless-0190-ab|**keyless failed**", "", "````", "images: <img src=x> ``` x", "````", ""}
	if diff := cmp.Diff(want, callLines(t, calls, work)); diff != "" {
		t.Errorf("annotate mismatch (-want +got):\n%s", diff)
	}
}

// TestBuildkiteToken: the hook's token file first, else the agent's
// token command; without either, an input error that says how.
func TestBuildkiteToken(t *testing.T) {
	path, calls := fakeAgent(t, "buildkite-agent")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("FILETOKEN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"the hook's file", map[string]string{hookTokenFile: file, "PATH": path}, "FILETOKEN"},
		{"the agent", map[string]string{"PATH": path}, "TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewBuildkite(Env{Getenv: env(tc.env)}).TokenSource(http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := src.Token(context.Background()); got != tc.want || err != nil {
				t.Errorf("Token() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if got := readFile(t, calls); !strings.Contains(got, "|oidc request-token --audience sigstore|") {
		t.Errorf("agent calls = %q", got)
	}
	_, err := NewBuildkite(Env{Getenv: env(nil)}).TokenSource(http.DefaultClient)
	if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "identity-token-file") {
		t.Errorf("TokenSource without the agent = %v, want an input error", err)
	}
}

// TestBuildkitePreflight: without the agent nothing is signed, since the
// run could not be published.
func TestBuildkitePreflight(t *testing.T) {
	t.Chdir(t.TempDir())
	err := Preflight(NewBuildkite(Env{Getenv: env(nil)}), "", true)
	if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "buildkite-agent: buildkite-agent is not on PATH: run keyless with the keyless plugin") {
		t.Errorf("Preflight = %v", err)
	}
	path, _ := fakeAgent(t, "buildkite-agent")
	if err := Preflight(NewBuildkite(Env{Getenv: env(map[string]string{"PATH": path})}), "", true); err != nil {
		t.Errorf("Preflight with the agent = %v", err)
	}
}

func TestRepositoryURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"git@github.com:acme/app.git", "ssh://git@github.com/acme/app.git"},
		{"github.com:acme/app", "ssh://github.com/acme/app"},
		{"https://github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"https://x-access-token:ghs_secret@github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"ssh://git@host:2222/acme/app.git", "ssh://git@host:2222/acme/app.git"},
	} {
		got, err := repositoryURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("repositoryURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "app", "/srv/git/app", "https://github.com/a\n/b"} {
		if _, err := repositoryURL(bad); err == nil || !input.Is(err) || strings.Contains(err.Error(), bad+"\"") {
			t.Errorf("repositoryURL(%q) = %v, want an input error without the value", bad, err)
		}
	}
}
