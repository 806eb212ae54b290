package ci

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// CLI is a plain command line: inputs from KEYLESS_* (flags override them),
// the JSON report on standard output, the log on standard error.
type CLI struct {
	getenv   func(string) string
	out, log io.Writer
}

var _ Platform = (*CLI)(nil)

var cliAdapter = adapter{
	name:   "cli",
	detect: func(func(string) string) bool { return true },
	make:   func(e Env) Platform { return NewCLI(e) },
}

// NewCLI returns the command-line adapter.
func NewCLI(e Env) *CLI {
	return &CLI{getenv: e.Getenv, out: e.Stdout, log: e.Stderr}
}

// Input reads KEYLESS_<NAME>.
func (c *CLI) Input(name string) string { return envInput(c.getenv, name) }

// Source is KEYLESS_<NAME>.
func (c *CLI) Source(name string) string { return envName(name) }

// Writer is standard error: standard output holds the JSON report alone.
func (c *CLI) Writer() io.Writer { return c.log }

// Mask does nothing: a terminal has no masking; keyless never logs secrets.
func (c *CLI) Mask(string) {}

// Section does nothing.
func (c *CLI) Section(string) func() { return func() {} }

// Annotate does nothing: the error is printed on standard error.
func (c *CLI) Annotate(string) {}

// Secrets is SIGSTORE_ID_TOKEN, the token the CLI falls back to.
func (c *CLI) Secrets() []string { return envSecrets(c.getenv, "SIGSTORE_ID_TOKEN") }

// TokenSource is SIGSTORE_ID_TOKEN.
func (c *CLI) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	return sigstoreToken(c.getenv, "no identity token: give --identity-token-file (or SIGSTORE_ID_TOKEN) with a token of audience sigstore")
}

// RegistryLogin is none: the Docker config's logins apply.
func (c *CLI) RegistryLogin() (Login, bool) { return Login{}, false }

// Destinations is the output directory, if one is given.
func (c *CLI) Destinations(outputDir string, _ bool) []Destination {
	if outputDir == "" {
		return nil
	}
	return []Destination{{Name: "output-dir", Path: outputDir, Dir: true, Fix: "give an output-dir that this user can write"}}
}

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

// Provenance is refused: a plain command line has no platform to state a
// build's facts, and keyless states no facts it cannot source. Users who
// know their build attest their own provenance as a custom predicate.
func (c *CLI) Provenance(*oidc.Token) (payload.Provenance, error) {
	return payload.Provenance{}, &InputError{Input: "provenance", Err: errors.New("the command line has no CI platform whose facts provenance could state: run keyless in GitHub Actions, GitLab CI, Tekton, Buildkite or CircleCI, or attest provenance you wrote with --predicate-type " + payload.ProvenanceType + " --predicate <file>")}
}
