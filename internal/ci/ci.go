// Package ci adapts keyless to the CI system it runs in. One adapter per
// platform owns all of that platform's behaviour: where inputs come from,
// masking, log sections and error annotations, which stream is the job
// log, which secrets its environment holds, its default identity token
// and registry login, where outputs, results and summaries go, and their
// limits. Each adapter reads the environment only through an injected
// getenv and writes only to injected writers and the files the platform
// names.
//
// Adding a platform is one adapter file (a type with the Platform methods
// and its registration value) and one line in adapters.
package ci

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/input"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// Platform is the CI system keyless runs in.
type Platform interface {
	Inputs
	Log
	Credentials
	Publisher
	Builder
}

// Inputs reads a step's inputs.
type Inputs interface {
	// Input returns the value of a named input (e.g. "signature-format"),
	// trimmed.
	Input(name string) string
	// Source names where Input reads an input from, such as
	// KEYLESS_CERTIFICATE_IDENTITY, for messages.
	Source(name string) string
}

// Log is the job log, as the platform shows it.
type Log interface {
	// Writer is the stream the platform shows as the job log.
	Writer() io.Writer
	// Mask hides a secret from the job log, where the platform can.
	Mask(secret string)
	// Section starts a collapsible log section and returns its end.
	Section(title string) (end func())
	// Annotate shows a run's failure where the platform puts failures
	// (GitHub: an error annotation); msg may span lines.
	Annotate(msg string)
}

// Credentials are what the platform gives a run to sign and push with.
type Credentials interface {
	// Secrets are the secret values the platform's environment holds:
	// they are masked and redacted from everything keyless writes.
	Secrets() []string
	// TokenSource is the platform's identity token, used when no
	// identity-token input is given.
	TokenSource(client *http.Client) (oidc.SourceFunc, error)
	// RegistryLogin is the platform's own registry login, used when no
	// registry-username input is given.
	RegistryLogin() (Login, bool)
}

// Publisher writes a run's results where the platform reads them.
type Publisher interface {
	// Destinations are the files and directories that Publish writes to,
	// for an output-dir input (empty: the platform's default) and with or
	// without a summary.
	Destinations(outputDir string, summary bool) []Destination
	// Publish writes the run's outputs, summary and files.
	Publish(a Artifacts) error
}

// Builder is the build the platform runs, as provenance states it.
type Builder interface {
	// Provenance returns the SLSA v1 provenance of the running job, for
	// statements signed with tok. What the certificate certifies comes
	// from tok's claims; a platform variable that contradicts its claim,
	// and a missing fact, are input errors naming the variable.
	Provenance(tok *oidc.Token) (payload.Provenance, error)
}

// Login is a registry login for some registries (host[:port]).
type Login struct {
	Username, Password string
	Registries         []string
}

// Env is what an adapter may read and write.
type Env struct {
	// Getenv reads the process environment.
	Getenv func(string) string
	// Stdout and Stderr are the process's standard streams.
	Stdout, Stderr io.Writer
}

// Artifacts is everything a run hands to the platform.
type Artifacts struct {
	// Outputs are name/value pairs in a fixed order.
	Outputs [][2]string
	// Summary is the Markdown job summary.
	Summary string
	// Report is the JSON report.
	Report []byte
	// Annotations are links to transparency-log entries (GitLab).
	Annotations []Link
	// ChainsHints asks Tekton for Chains' IMAGES type-hint result.
	ChainsHints bool
	// Images are the signed repository@digest references.
	Images []string
	// Files are extra files (name → content), such as admission policies,
	// written next to the report.
	Files map[string][]byte
	// OutputDir is where report and summary files go; each platform has a
	// default when it is empty.
	OutputDir string
	// OK is whether every image was signed and verified (or, for verify,
	// verified): the summary's verdict.
	OK bool
	// Results are each image's outcome, in the report's order, for the
	// platforms that show test results.
	Results []Result
}

// Result is one image's outcome: its digest and, when it failed, why.
type Result struct {
	Image, Failure string
}

// Options is implemented by the Inputs of a platform whose inputs arrive
// as one set of named options (a Buildkite plugin's configuration) that
// the platform itself does not check: cmd/action refuses a name that is
// no input, which the platform would ignore.
type Options interface {
	// Options returns the names of the options given, or an input error
	// when they cannot be read.
	Options() ([]string, error)
}

// Link is a named URL.
type Link struct {
	Label, URL string
}

// adapter registers a platform: its KEYLESS_PLATFORM name, whether an
// environment is that platform's, and how to make its adapter.
type adapter struct {
	name   string
	detect func(getenv func(string) string) bool
	make   func(Env) Platform
}

// adapters are the platforms in the order they are detected. The CLI,
// which every environment is, comes last.
var adapters = []adapter{githubAdapter, gitlabAdapter, tektonAdapter, buildkiteAdapter, circleciAdapter, cliAdapter}

// Detect returns the platform for an environment: the first adapter that
// recognises the environment, or KEYLESS_PLATFORM where none but the CLI
// does. KEYLESS_PLATFORM may not contradict a CI system's own markers: an
// earlier step's variables (GitHub's GITHUB_ENV, a GitLab dotenv report)
// could otherwise switch keyless to another platform's inputs, read from
// variables the step never set.
func Detect(e Env) (Platform, error) {
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	name := e.Getenv("KEYLESS_PLATFORM")
	var names []string
	var found, named *adapter
	for i, a := range adapters {
		if found == nil && a.detect(e.Getenv) {
			found = &adapters[i]
		}
		if name == a.name {
			named = &adapters[i]
		}
		names = append(names, a.name)
	}
	switch {
	case name == "":
		return found.make(e), nil
	case named == nil:
		last := len(names) - 1
		return nil, fmt.Errorf("KEYLESS_PLATFORM=%q: use %s or %s", name, strings.Join(names[:last], ", "), names[last])
	case found != named && found != &adapters[len(adapters)-1]:
		return nil, &InputError{Input: "KEYLESS_PLATFORM", Err: fmt.Errorf("%q contradicts this environment, which is a %s job: remove KEYLESS_PLATFORM (it would read the inputs from variables the step did not set)", name, found.name)}
	}
	return named.make(e), nil
}

// InputError is a platform setting that cannot be used: exit status 2.
type InputError = input.Error

// envInput reads input name from KEYLESS_<NAME> (upper case, - → _).
func envInput(getenv func(string) string, name string) string {
	return strings.TrimSpace(getenv(envName(name)))
}

// envName is the KEYLESS_<NAME> variable of input name.
func envName(name string) string {
	return "KEYLESS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// envSecrets returns the non-empty values of the named variables.
func envSecrets(getenv func(string) string, names ...string) []string {
	var out []string
	for _, n := range names {
		if v := getenv(n); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// sigstoreToken is the SIGSTORE_ID_TOKEN variable, where GitLab's
// id_tokens and other CI systems put the token, or an input error that
// says how to give one.
func sigstoreToken(getenv func(string) string, fix string) (oidc.SourceFunc, error) {
	if t := getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return oidc.Static(t), nil
	}
	return nil, &InputError{Input: "identity-token", Err: fmt.Errorf("%s", fix)}
}

// facts reads the named variables, which the platform sets in every job,
// or returns an input error naming the first one missing, with fix.
func facts(getenv func(string) string, fix string, names ...string) (map[string]string, error) {
	m := map[string]string{}
	for _, n := range names {
		v := getenv(n)
		if v == "" {
			return nil, &InputError{Input: "provenance", Err: fmt.Errorf("%s is not set: %s", n, fix)}
		}
		m[n] = v
	}
	return m, nil
}

// writeFiles writes every file into dir, prefixing each name, in name
// order, and returns the paths by name.
func writeFiles(dir, prefix string, files map[string][]byte) (map[string]string, error) {
	paths := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p, err := writeFile(dir, prefix+name, files[name])
		if err != nil {
			return nil, err
		}
		paths[name] = p
	}
	return paths, nil
}

// writeFile writes data to dir/name, creating dir (and the directory of a
// name with a slash), and returns the path.
func writeFile(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("creating output directory: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}
