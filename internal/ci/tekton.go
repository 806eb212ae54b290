package ci

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/keyless-dev/keyless/internal/oidc"
)

// Tekton is a Tekton Task step.
type Tekton struct {
	getenv func(string) string
	out    io.Writer
}

var _ Platform = (*Tekton)(nil)

var tektonAdapter = adapter{
	name: "tekton",
	detect: func(getenv func(string) string) bool {
		return getenv("TEKTON_RESULTS_DIR") != "" || getenv("KEYLESS_RESULTS_DIR") != ""
	},
	make: func(e Env) Platform { return NewTekton(e) },
}

// NewTekton returns the Tekton adapter.
func NewTekton(e Env) *Tekton {
	return &Tekton{getenv: e.Getenv, out: e.Stdout}
}

// Input reads KEYLESS_<NAME>, as the Task's env sets it from params.
func (t *Tekton) Input(name string) string { return envInput(t.getenv, name) }

// Writer is standard output, the step's log.
func (t *Tekton) Writer() io.Writer { return t.out }

// Mask does nothing: Tekton has no log masking; keyless never logs secrets.
func (t *Tekton) Mask(string) {}

// Section prints a plain heading.
func (t *Tekton) Section(title string) func() {
	fmt.Fprintf(t.out, "--- %s\n", OneLine(title))
	return func() {}
}

// Annotate does nothing: a failed step's log ends with the error.
func (t *Tekton) Annotate(string) {}

// Secrets is none: the token is a file, read (and redacted) when used.
func (t *Tekton) Secrets() []string { return nil }

// defaultTokenFile is where the Tekton Tasks mount the projected service
// account token, the path cosign also reads.
const defaultTokenFile = "/var/run/sigstore/cosign/oidc-token"

// TokenSource reads the projected service account token, afresh each time.
func (t *Tekton) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	return oidc.File(defaultTokenFile), nil
}

// RegistryLogin is none: a Task logs in with a docker config workspace.
func (t *Tekton) RegistryLogin() (Login, bool) { return Login{}, false }

// resultsDir is where Tekton collects a step's results.
const resultsDir = "/tekton/results"

// ResultLimit is the most bytes keyless writes to all results together:
// Tekton results travel in the 4 KiB termination message, shared by all
// results of the step, with some room kept for Tekton's own JSON framing.
const ResultLimit = 3 * 1024

func (t *Tekton) resultsDir() string {
	if dir := t.getenv("KEYLESS_RESULTS_DIR"); dir != "" {
		return dir
	}
	return resultsDir
}

// Destinations are the results directory and the output directory, if set.
func (t *Tekton) Destinations(outputDir string, _ bool) []Destination {
	out := []Destination{{Name: "results", Path: t.resultsDir(), Dir: true,
		Fix: "the step's user must be able to write its results: keep the Task's securityContext, and do not mount over " + resultsDir}}
	if outputDir != "" {
		out = append(out, Destination{Name: "output-dir", Path: outputDir, Dir: true,
			Fix: "the output workspace must be writable by the step's user: give the TaskRun a podTemplate securityContext fsGroup, or a volume that user owns"})
	}
	return out
}

// Publish writes one results file per output, and the report and summary
// into the output directory when one is set (the output workspace).
func (t *Tekton) Publish(a Artifacts) error {
	dir := t.resultsDir()
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
