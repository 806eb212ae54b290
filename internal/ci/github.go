package ci

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// GitHub is a GitHub Actions container action step.
type GitHub struct {
	getenv func(string) string
	out    io.Writer
}

// NewGitHub returns the GitHub Actions adapter.
func NewGitHub(getenv func(string) string, stdout io.Writer) *GitHub {
	return &GitHub{getenv: getenv, out: stdout}
}

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

// Input reads INPUT_<NAME>, with hyphens kept as the runner sets them.
func (g *GitHub) Input(name string) string {
	return strings.TrimSpace(g.getenv("INPUT_" + strings.ToUpper(name)))
}

// Mask tells the runner to hide secret in the log, line by line.
func (g *GitHub) Mask(secret string) {
	for _, line := range strings.Split(secret, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(g.out, "::add-mask::%s\n", line)
		}
	}
}

// Section starts a ::group::.
func (g *GitHub) Section(title string) func() {
	fmt.Fprintf(g.out, "::group::%s\n", OneLine(title))
	return func() { fmt.Fprintln(g.out, "::endgroup::") }
}

// Publish writes outputs to GITHUB_OUTPUT, the summary to
// GITHUB_STEP_SUMMARY and the JSON report into the workspace.
func (g *GitHub) Publish(a Artifacts) error {
	outputs := append([][2]string{}, a.Outputs...)
	outputs = append(outputs, [2]string{"result", string(a.Report)})
	workspace := g.getenv("GITHUB_WORKSPACE")
	if workspace == "" {
		workspace = "."
	}
	dir := a.OutputDir
	if dir == "" {
		dir = workspace
	}
	files := map[string][]byte{}
	if len(a.Report) > 0 {
		files["report.json"] = a.Report
	}
	for k, v := range a.Files {
		files[k] = v
	}
	paths, err := writeFiles(dir, "keyless-", files)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(paths)) {
		output := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".yaml")
		outputs = append(outputs, [2]string{output, workspacePath(workspace, paths[name])})
	}
	if f := g.getenv("GITHUB_OUTPUT"); f != "" {
		outputs, note := fit(outputs, githubOutputLimit, func(o [][2]string) int { return len(githubOutputs(o)) }, workspacePath(workspace, paths["report.json"]))
		if note != "" {
			fmt.Fprintf(g.out, "::warning title=keyless::%s\n", note)
		}
		if err := appendFile(f, githubOutputs(outputs)); err != nil {
			return fmt.Errorf("writing GITHUB_OUTPUT: %w", err)
		}
	}
	if f := g.getenv("GITHUB_STEP_SUMMARY"); f != "" && a.Summary != "" {
		if err := appendFile(f, a.Summary); err != nil {
			return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

// githubOutputLimit is the most bytes of outputs keyless writes: GitHub
// allows 1 MiB of outputs per job, and other steps of the job need some.
const githubOutputLimit = 512 << 10

// workspacePath names p relative to the workspace when it is inside it:
// later steps run outside this container and see the workspace at another
// absolute path.
func workspacePath(workspace, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(ws, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// githubOutputs renders name<<DELIM lines with a random delimiter, so that
// no value can end its own block and inject another output.
func githubOutputs(outputs [][2]string) string {
	var b strings.Builder
	for _, o := range outputs {
		delim := "ghadelimiter_" + randomHex()
		for strings.Contains(o[1], delim) {
			delim = "ghadelimiter_" + randomHex()
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o[0], delim, o[1], delim)
	}
	return b.String()
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
