// Package manifests checks keyless's CI front ends offline: the Tekton Tasks
// and samples under tekton/ with Tekton's own Go types and validation, and
// the GitLab CI/CD component templates under gitlab/ against GitLab's CI JSON
// schema (testdata/gitlab-ci.json, a copy of gitlab.com's
// app/assets/javascripts/editor/schema/ci.json).
//
// The helpers here are exported so that other e2e tests (for example a
// results-size test) can load the same Tasks.
package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// Doc is one YAML document of a manifest file.
type Doc struct {
	Path       string // path relative to the repository root
	Index      int    // position of the document in its file, from 0
	APIVersion string
	Kind       string
	Name       string
	Raw        []byte
}

// String names the document for test output.
func (d Doc) String() string {
	return fmt.Sprintf("%s#%d %s/%s", d.Path, d.Index, d.Kind, d.Name)
}

// RepoRoot returns the root of the keyless repository (two levels above this
// package's directory, e2e/manifests).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SplitDocuments splits a multi-document YAML stream at "---" separator lines
// and drops documents that hold nothing but comments and blank lines.
func SplitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
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
	return docs
}

// hasContent reports whether a YAML document has a line that is neither
// blank nor a comment.
func hasContent(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// LoadDocs returns every YAML document of every .yaml or .yml file under dir
// (relative to the repository root), in lexical order.
func LoadDocs(dir string) ([]Doc, error) {
	root := RepoRoot()
	var docs []Doc
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(path) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		parsed, err := parseDocs(rel, data)
		docs = append(docs, parsed...)
		return err
	})
	return docs, err
}

func isYAML(path string) bool {
	ext := filepath.Ext(path)
	return ext == ".yaml" || ext == ".yml"
}

// parseDocs splits a file and reads each document's type and name.
func parseDocs(rel string, data []byte) ([]Doc, error) {
	var docs []Doc
	for i, raw := range SplitDocuments(data) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name         string `json:"name"`
				GenerateName string `json:"generateName"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return docs, fmt.Errorf("%s#%d: %w", rel, i, err)
		}
		name := head.Metadata.Name
		if name == "" {
			name = head.Metadata.GenerateName
		}
		docs = append(docs, Doc{Path: rel, Index: i, APIVersion: head.APIVersion,
			Kind: head.Kind, Name: name, Raw: raw})
	}
	return docs, nil
}

// LoadTask reads a single-document tekton.dev/v1 Task file (relative to the
// repository root), rejecting unknown fields.
func LoadTask(path string) (*v1.Task, error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), path))
	if err != nil {
		return nil, err
	}
	var task v1.Task
	if err := yaml.UnmarshalStrict(data, &task); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &task, nil
}

// ResultDescriptionProblems lists the results of a Task that lack a
// description (every result must say what it holds and its format).
func ResultDescriptionProblems(task *v1.Task) []string {
	var problems []string
	for _, r := range task.Spec.Results {
		if strings.TrimSpace(r.Description) == "" {
			problems = append(problems, fmt.Sprintf("result %q has no description", r.Name))
		}
	}
	return problems
}
