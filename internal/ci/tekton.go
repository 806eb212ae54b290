package ci

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Tekton is a Tekton Task step.
type Tekton struct {
	getenv func(string) string
	out    io.Writer
}

// NewTekton returns the Tekton adapter.
func NewTekton(getenv func(string) string, stdout io.Writer) *Tekton {
	return &Tekton{getenv: getenv, out: stdout}
}

// Name returns "tekton".
func (t *Tekton) Name() string { return "tekton" }

// Input reads KEYLESS_<NAME>, as the Task's env sets it from params.
func (t *Tekton) Input(name string) string { return envInput(t.getenv, name) }

// Mask does nothing: Tekton has no log masking; keyless never logs secrets.
func (t *Tekton) Mask(string) {}

// Section prints a plain heading.
func (t *Tekton) Section(title string) func() {
	fmt.Fprintf(t.out, "--- %s\n", OneLine(title))
	return func() {}
}

// resultsDir is where Tekton collects a step's results.
const resultsDir = "/tekton/results"

// ResultLimit is the most bytes keyless writes to all results together:
// Tekton results travel in the 4 KiB termination message, shared by all
// results of the step, with some room kept for Tekton's own JSON framing.
const ResultLimit = 3 * 1024

// Publish writes one results file per output, and the report and summary
// into the output directory when one is set (the output workspace).
func (t *Tekton) Publish(a Artifacts) error {
	dir := t.getenv("KEYLESS_RESULTS_DIR")
	if dir == "" {
		dir = resultsDir
	}
	results := append([][2]string{}, a.Outputs...)
	if a.ChainsHints {
		results = append(results, [2]string{"IMAGES", strings.Join(a.Images, ",")})
	}
	report := "report.json of the output workspace (not bound: bind it to keep the full run)"
	if a.OutputDir != "" {
		report = filepath.Join(a.OutputDir, "report.json")
	}
	results, note := fit(results, ResultLimit, valueBytes, report)
	if note != "" {
		fmt.Fprintf(t.out, "keyless: %s\n", note)
		results = results[:len(results)-1] // a Task declares its results: the note goes to the log
	}
	total := valueBytes(results)
	if total > ResultLimit {
		return fmt.Errorf("results are %d bytes, over the %d-byte budget of the termination message: sign fewer images per TaskRun, or read the full report from the output workspace", total, ResultLimit)
	}
	for _, r := range results {
		if _, err := writeFile(dir, r[0], []byte(r[1])); err != nil {
			return err
		}
	}
	if out := a.OutputDir; out != "" {
		for _, f := range []struct {
			name string
			data []byte
		}{{"report.json", a.Report}, {"summary.md", []byte(a.Summary)}} {
			if _, err := writeFile(out, f.name, f.data); err != nil {
				return err
			}
		}
		if _, err := writeFiles(out, "", a.Files); err != nil {
			return err
		}
	}
	return nil
}
