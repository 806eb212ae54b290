package ci

import (
	"fmt"
	"io"
)

// CLI is a plain command line: inputs from KEYLESS_* (flags override them),
// the JSON report on standard output.
type CLI struct {
	getenv func(string) string
	out    io.Writer
}

// NewCLI returns the command-line adapter.
func NewCLI(getenv func(string) string, stdout io.Writer) *CLI {
	return &CLI{getenv: getenv, out: stdout}
}

// Name returns "cli".
func (c *CLI) Name() string { return "cli" }

// Input reads KEYLESS_<NAME>.
func (c *CLI) Input(name string) string { return envInput(c.getenv, name) }

// Mask does nothing: a terminal has no masking; keyless never logs secrets.
func (c *CLI) Mask(string) {}

// Section does nothing.
func (c *CLI) Section(string) func() { return func() {} }

// Publish prints the JSON report to standard output and, with output-dir,
// writes report.json and summary.md there.
func (c *CLI) Publish(a Artifacts) error {
	if _, err := fmt.Fprintf(c.out, "%s\n", a.Report); err != nil {
		return err
	}
	if dir := a.OutputDir; dir != "" {
		if _, err := writeFile(dir, "report.json", a.Report); err != nil {
			return err
		}
		if _, err := writeFile(dir, "summary.md", []byte(a.Summary)); err != nil {
			return err
		}
		if _, err := writeFiles(dir, "", a.Files); err != nil {
			return err
		}
	}
	return nil
}
