package docs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Kind is what a YAML example is.
type Kind string

// The kinds of YAML examples.
const (
	// GitHubWorkflow is a complete GitHub Actions workflow (on, jobs).
	GitHubWorkflow Kind = "GitHub workflow"
	// GitLabCI is a complete .gitlab-ci.yml.
	GitLabCI Kind = "GitLab CI file"
	// BuildkitePipeline is a complete Buildkite pipeline (steps).
	BuildkitePipeline Kind = "Buildkite pipeline"
	// CircleCIConfig is a complete .circleci/config.yml (version and
	// jobs or workflows).
	CircleCIConfig Kind = "CircleCI config"
	// Kubernetes is one or more complete Kubernetes objects (Tekton's,
	// Kyverno's, policy-controller's, core ones), each with apiVersion and
	// kind.
	Kubernetes Kind = "Kubernetes manifests"
	// Part is an excerpt of a larger file, which says so on its first line
	// (a comment starting "# Part of"): it must parse, and has no schema
	// of its own.
	Part Kind = "part of a file"
)

// PartMarker starts the first line of a YAML example that is an excerpt.
const PartMarker = "# Part of"

// Example is a YAML example of a Markdown file.
type Example struct {
	// File is the Markdown file, relative to the repository root.
	File string
	// Line is the line of the block's opening fence, from 1.
	Line int
	// Kind is what the example is.
	Kind Kind
	// Docs are its YAML documents (split at --- lines), as written.
	Docs [][]byte
	// Values are the documents parsed (YAML read as JSON is, so a bare
	// "on" key is "true").
	Values []any
}

// String names the example for test output.
func (e Example) String() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// gitlabKeys are top-level keywords that only a GitLab CI file has.
var gitlabKeys = []string{"include", "stages", "workflow", "default", "variables"}

// Examples returns the YAML examples (```yaml and ```yml blocks) of the
// Markdown file, parsed and sorted into their kinds. Each block that does
// not parse, or is none of the kinds, is an error naming its line; the
// others are returned all the same.
func Examples(root, file string) ([]Example, error) {
	md, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	var out []Example
	var errs []error
	for _, b := range Blocks(md) {
		if b.Lang != "yaml" && b.Lang != "yml" {
			continue
		}
		if e, err := example(file, b); err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, e)
		}
	}
	return out, errors.Join(errs...)
}

// example parses one YAML block of file.
func example(file string, b Block) (Example, error) {
	e := Example{File: file, Line: b.Line}
	for i, doc := range splitDocuments([]byte(b.Text)) {
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return e, fmt.Errorf("%s: document %d does not parse: %w", e, i, err)
		}
		e.Docs, e.Values = append(e.Docs, doc), append(e.Values, v)
	}
	var err error
	if e.Kind, err = kindOf(b.Text, e.Values); err != nil {
		return e, fmt.Errorf("%s: %w", e, err)
	}
	return e, nil
}

// kindOf sorts an example's parsed documents into a Kind.
func kindOf(text string, values []any) (Kind, error) {
	first, _, _ := strings.Cut(strings.TrimLeft(text, "\n"), "\n")
	if strings.HasPrefix(strings.TrimSpace(first), PartMarker) {
		return Part, nil
	}
	if len(values) == 0 {
		return "", fmt.Errorf("an empty YAML example")
	}
	k8s := 0
	for _, doc := range values {
		if v, _ := doc.(map[string]any); v["apiVersion"] != nil && v["kind"] != nil {
			k8s++
		}
	}
	switch {
	case k8s == len(values):
		return Kubernetes, nil
	case k8s > 0:
		return "", fmt.Errorf("%d of %d documents are Kubernetes objects: give every one apiVersion and kind", k8s, len(values))
	case len(values) > 1:
		return "", fmt.Errorf("%d documents: only Kubernetes manifests may hold several", len(values))
	}
	v, _ := values[0].(map[string]any)
	if v["jobs"] != nil && (v["on"] != nil || v["true"] != nil) {
		return GitHubWorkflow, nil
	}
	if v["version"] != nil && (v["jobs"] != nil || v["workflows"] != nil) {
		return CircleCIConfig, nil
	}
	if v["steps"] != nil {
		return BuildkitePipeline, nil
	}
	if slices.ContainsFunc(gitlabKeys, func(k string) bool { return v[k] != nil }) || hasJob(v) {
		return GitLabCI, nil
	}
	return "", fmt.Errorf("not a complete GitHub workflow, GitLab CI file, Buildkite pipeline, CircleCI config or Kubernetes manifest: complete it, or start it with a line %q saying where it goes", PartMarker+" …")
}

// hasJob reports whether a GitLab CI file has a job: a mapping with a
// script, a trigger or an extends.
func hasJob(v map[string]any) bool {
	for _, j := range v {
		if m, ok := j.(map[string]any); ok && (m["script"] != nil || m["trigger"] != nil || m["extends"] != nil) {
			return true
		}
	}
	return false
}

// splitDocuments splits a YAML stream at its --- lines, dropping documents
// of nothing but comments and blank lines.
func splitDocuments(data []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, l := range strings.Split(cur.String(), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				out = append(out, bytes.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}
