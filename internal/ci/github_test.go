package ci

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseGitHubOutput parses a GITHUB_OUTPUT file the way the runner does:
// name=value lines and name<<DELIM blocks.
func parseGitHubOutput(t *testing.T, content string) [][2]string {
	t.Helper()
	var out [][2]string
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if k, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				t.Fatalf("output %s: delimiter %q never closes", k, delim)
			}
			out = append(out, [2]string{k, strings.Join(val, "\n")})
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("malformed GITHUB_OUTPUT line %q", line)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

func TestGitHubMask(t *testing.T) {
	tests := []struct {
		name, secret, want string
	}{
		{"one line", "s3cr3t", "::add-mask::s3cr3t\n"},
		{"per line, trimmed, blanks dropped", "line1\n  line2 \n\n\r\nline3\n", "::add-mask::line1\n::add-mask::line2\n::add-mask::line3\n"},
		{"empty", "", ""},
		// The runner unescapes %25, %0D and %0A in a command's data: a
		// secret holding them is escaped, or the runner masks another
		// string and the secret stays visible.
		{"percent escapes", "p%25ss", "::add-mask::p%2525ss\n"},
		{"escaped newline", "a%0Ab", "::add-mask::a%250Ab\n"},
		{"carriage return inside a line", "a\rb", "::add-mask::a%0Db\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			NewGitHub(Env{Getenv: env(nil), Stdout: &out}).Mask(tt.secret)
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("Mask output mismatch (-want +got):\n%s", diff)
			}
			if tt.secret != "" && !strings.Contains(tt.secret, "\n") {
				got := runnerData(strings.TrimSuffix(strings.TrimPrefix(out.String(), "::add-mask::"), "\n"))
				if got != tt.secret {
					t.Errorf("the runner masks %q, not the secret %q", got, tt.secret)
				}
			}
		})
	}
}

// runnerData unescapes a command's data as the Actions runner does.
func runnerData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func TestGitHubSection(t *testing.T) {
	for _, tc := range []struct{ title, want string }{
		{"Signing", "::group::Signing\nwork\n::endgroup::\n"},
		{"100%0A done", "::group::100%250A done\nwork\n::endgroup::\n"},
		{"two\nlines", "::group::two lines\nwork\n::endgroup::\n"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			var out bytes.Buffer
			end := NewGitHub(Env{Getenv: env(nil), Stdout: &out}).Section(tc.title)
			out.WriteString("work\n")
			end()
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("Section output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitHubAnnotate(t *testing.T) {
	var out bytes.Buffer
	NewGitHub(Env{Getenv: env(nil), Stdout: &out}).Annotate("bad: 100%\nfix it\r")
	if diff := cmp.Diff("::error title=keyless::bad: 100%25%0Afix it%0D\n", out.String()); diff != "" {
		t.Errorf("Annotate output mismatch (-want +got):\n%s", diff)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

// TestGitHubCommandWriteFails checks that a log that cannot be written to
// does not crash the run (go-githubactions panics then).
func TestGitHubCommandWriteFails(t *testing.T) {
	g := NewGitHub(Env{Getenv: env(nil), Stdout: failingWriter{}})
	g.Mask("s3cr3t")
	g.Section("x")()
	g.Annotate("y")
}

func TestGitHubSummaryLimit(t *testing.T) {
	dir := t.TempDir()
	summaryFile := filepath.Join(dir, "summary.md")
	line := strings.Repeat("x", 99) + "\n"
	big := strings.Repeat(line, summaryLimit/len(line)+10)
	e := env(map[string]string{"GITHUB_WORKSPACE": dir, "GITHUB_STEP_SUMMARY": summaryFile})
	if err := NewGitHub(Env{Getenv: e, Stdout: &bytes.Buffer{}}).Publish(Artifacts{Summary: big, Report: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, summaryFile)
	if len(got) > summaryLimit {
		t.Errorf("summary is %d bytes, over the %d-byte limit", len(got), summaryLimit)
	}
	if !strings.Contains(got, "The full report is keyless-report.json") || !strings.HasPrefix(got, line) {
		t.Errorf("cut summary does not say where the report is: ...%s", got[len(got)-200:])
	}
}

func TestGitHubPublish(t *testing.T) {
	report := []byte(`{"command":"sign","verified":true}`)
	tests := []struct {
		name          string
		artifacts     Artifacts
		existingOut   string
		existingSum   string
		wantOutputs   [][2]string
		wantSummary   string
		wantReportDir string // relative to the workspace; "" means no report file
	}{
		{
			name: "outputs, summary and report",
			artifacts: Artifacts{
				Outputs: [][2]string{
					{"digests", "ghcr.io/o/a@sha256:1\nghcr.io/o/b@sha256:2"},
					{"certificate-identity", "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main"},
					{"tricky", "first\nghadelimiter_0123456789abcdef\nEOF\nevil<<x\nlast"},
					{"empty", ""},
				},
				Summary: "## keyless sign\n",
				Report:  report,
			},
			existingOut: "previous=1\n",
			existingSum: "# earlier step\n",
			wantOutputs: [][2]string{
				{"previous", "1"},
				{"digests", "ghcr.io/o/a@sha256:1\nghcr.io/o/b@sha256:2"},
				{"certificate-identity", "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main"},
				{"tricky", "first\nghadelimiter_0123456789abcdef\nEOF\nevil<<x\nlast"},
				{"empty", ""},
				{"result", string(report)},
				{"report", "keyless-report.json"},
			},
			wantSummary:   "# earlier step\n## keyless sign\n",
			wantReportDir: ".",
		},
		{
			name:        "no report, no summary",
			artifacts:   Artifacts{Outputs: [][2]string{{"verified", "false"}}},
			existingSum: "# earlier step\n",
			wantOutputs: [][2]string{{"verified", "false"}, {"result", ""}},
			wantSummary: "# earlier step\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			workspace := t.TempDir()
			t.Chdir(workspace)
			files := t.TempDir()
			outFile, sumFile := filepath.Join(files, "output"), filepath.Join(files, "summary")
			for p, c := range map[string]string{outFile: tt.existingOut, sumFile: tt.existingSum} {
				if c != "" {
					if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			e := env(map[string]string{"GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile, "GITHUB_WORKSPACE": workspace})
			var stdout bytes.Buffer
			if err := NewGitHub(Env{Getenv: e, Stdout: &stdout}).Publish(tt.artifacts); err != nil {
				t.Fatalf("Publish: %v", err)
			}

			if diff := cmp.Diff(tt.wantOutputs, parseGitHubOutput(t, readFile(t, outFile))); diff != "" {
				t.Errorf("GITHUB_OUTPUT mismatch (-want +got):\n%s", diff)
			}
			if tt.wantSummary != "" {
				if diff := cmp.Diff(tt.wantSummary, readFile(t, sumFile)); diff != "" {
					t.Errorf("GITHUB_STEP_SUMMARY mismatch (-want +got):\n%s", diff)
				}
			}
			if tt.wantReportDir != "" {
				got := readFile(t, filepath.Join(workspace, tt.wantReportDir, "keyless-report.json"))
				if diff := cmp.Diff(string(tt.artifacts.Report), got); diff != "" {
					t.Errorf("report file mismatch (-want +got):\n%s", diff)
				}
			} else if _, err := os.Stat(filepath.Join(workspace, "keyless-report.json")); !os.IsNotExist(err) {
				t.Errorf("report file written without a report: %v", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("Publish wrote to stdout: %q", stdout.String())
			}
		})
	}
}

func TestGitHubPublishWithoutFiles(t *testing.T) {
	workspace := t.TempDir()
	var stdout bytes.Buffer
	err := NewGitHub(Env{Getenv: env(map[string]string{"GITHUB_WORKSPACE": workspace}), Stdout: &stdout}).Publish(Artifacts{Summary: "s", Report: []byte("{}")})
	if err != nil {
		t.Fatalf("Publish without GITHUB_OUTPUT: %v", err)
	}
	if diff := cmp.Diff("{}", readFile(t, filepath.Join(workspace, "keyless-report.json"))); diff != "" {
		t.Errorf("report file mismatch (-want +got):\n%s", diff)
	}
}

func TestGitHubPublishUnwritableOutput(t *testing.T) {
	dir := t.TempDir()
	e := env(map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "missing", "output"), "GITHUB_WORKSPACE": dir})
	err := NewGitHub(Env{Getenv: e, Stdout: &bytes.Buffer{}}).Publish(Artifacts{Outputs: [][2]string{{"a", "b"}}})
	if err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("Publish = %v, want a GITHUB_OUTPUT error", err)
	}
}

func TestGitHubOutputsDelimiters(t *testing.T) {
	outputs := [][2]string{{"a", "x"}, {"b", "y\nz"}}
	got := githubOutputs(outputs)
	var delims []string
	for _, line := range strings.Split(got, "\n") {
		if _, d, ok := strings.Cut(line, "<<"); ok {
			delims = append(delims, d)
		}
	}
	if len(delims) != 2 || delims[0] == delims[1] {
		t.Errorf("delimiters = %q, want two distinct ones", delims)
	}
	for _, d := range delims {
		if !strings.HasPrefix(d, "ghadelimiter_") || len(d) != len("ghadelimiter_")+16 {
			t.Errorf("delimiter %q is not ghadelimiter_ and 16 hex digits", d)
		}
	}
	if diff := cmp.Diff(outputs, parseGitHubOutput(t, got)); diff != "" {
		t.Errorf("githubOutputs round trip mismatch (-want +got):\n%s", diff)
	}
}
