// Package ci adapts keyless to the CI system it runs in: where inputs come
// from, how secrets are masked, where outputs, results and summaries go.
// Each adapter reads the environment only through an injected getenv and
// writes only to injected writers and the files the platform names.
package ci

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Platform is the CI system keyless runs in.
type Platform interface {
	// Name is github, gitlab, tekton or cli.
	Name() string
	// Input returns the raw value of a named input (e.g. "signature-format").
	Input(name string) string
	// Mask hides a secret from the job log, where the platform can.
	Mask(secret string)
	// Section starts a collapsible log section and returns its end.
	Section(title string) (end func())
	// Publish writes the run's outputs, summary and files.
	Publish(a Artifacts) error
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
}

// Link is a named URL.
type Link struct {
	Label, URL string
}

// Detect returns the platform for an environment: KEYLESS_PLATFORM if set,
// else GitHub Actions, GitLab CI, Tekton (a results directory), or the CLI.
func Detect(getenv func(string) string, stdout io.Writer) (Platform, error) {
	name := getenv("KEYLESS_PLATFORM")
	if name == "" {
		switch {
		case getenv("GITHUB_ACTIONS") == "true":
			name = "github"
		case getenv("GITLAB_CI") == "true":
			name = "gitlab"
		case getenv("TEKTON_RESULTS_DIR") != "" || getenv("KEYLESS_RESULTS_DIR") != "":
			name = "tekton"
		default:
			name = "cli"
		}
	}
	switch name {
	case "github":
		return NewGitHub(getenv, stdout), nil
	case "gitlab":
		return NewGitLab(getenv, stdout), nil
	case "tekton":
		return NewTekton(getenv, stdout), nil
	case "cli":
		return NewCLI(getenv, stdout), nil
	}
	return nil, fmt.Errorf("KEYLESS_PLATFORM=%q: use github, gitlab, tekton or cli", name)
}

// envInput reads input name from KEYLESS_<NAME> (upper case, - → _).
func envInput(getenv func(string) string, name string) string {
	return strings.TrimSpace(getenv("KEYLESS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))))
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

// writeFile writes data to dir/name, creating dir, and returns the path.
func writeFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating output directory: %w", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}
