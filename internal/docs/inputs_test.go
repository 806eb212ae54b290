package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestEveryInputDocumented checks that each front end's page has a table
// row for every input, output, param, result and workspace its manifests
// declare, docs/promote.md one for every one of the three promote front
// ends, and docs/cli.md one for every flag of the binary: so that any
// input is one click from the README.
func TestEveryInputDocumented(t *testing.T) {
	for _, tc := range []struct {
		page  string
		names []string
	}{
		{"docs/github.md", slices.Concat(
			yamlKeys(t, "action.yml", "inputs"), yamlKeys(t, "action.yml", "outputs"),
			yamlKeys(t, "verify/action.yml", "inputs"), yamlKeys(t, "verify/action.yml", "outputs"))},
		{"docs/gitlab.md", slices.Concat(
			yamlKeys(t, "gitlab/templates/sign.yml", "spec", "inputs"), yamlKeys(t, "gitlab/templates/verify.yml", "spec", "inputs"))},
		{"docs/tekton.md", slices.Concat(
			yamlNames(t, "tekton/keyless-sign/0.1/keyless-sign.yaml"), yamlNames(t, "tekton/keyless-verify/0.1/keyless-verify.yaml"))},
		{"docs/buildkite.md", yamlKeys(t, "plugin.yml", "configuration", "properties")},
		{"docs/circleci.md", slices.Concat(
			yamlKeys(t, "orb/src/commands/sign.yml", "parameters"), yamlKeys(t, "orb/src/commands/verify.yml", "parameters"),
			yamlKeys(t, "orb/src/jobs/sign.yml", "parameters"), yamlKeys(t, "orb/src/jobs/verify.yml", "parameters"),
			yamlKeys(t, "orb/src/executors/default.yml", "parameters"))},
		{"docs/audit.md", slices.Concat(yamlKeys(t, "audit/action.yml", "inputs"), yamlKeys(t, "audit/action.yml", "outputs"))},
		{"docs/cli.md", flagNames(t, "cmd/action/inputs.go")},
		{"docs/promote.md", slices.Concat(
			yamlKeys(t, "promote/action.yml", "inputs"), yamlKeys(t, "promote/action.yml", "outputs"),
			yamlKeys(t, "gitlab/templates/promote.yml", "spec", "inputs"), yamlNames(t, "tekton/keyless-promote/0.1/keyless-promote.yaml"))},
	} {
		t.Run(tc.page, func(t *testing.T) {
			page, err := os.ReadFile(filepath.Join(repoRoot, tc.page))
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.names) < 10 {
				t.Fatalf("found only %v to look for", tc.names)
			}
			if diff := cmp.Diff([]string(nil), missingRows(page, tc.names)); diff != "" {
				t.Errorf("names without a table row (-want +got):\n%s", diff)
			}
		})
	}
}

// missingRows returns the names that no table row of page starts with, in
// code: "| `name` |".
func missingRows(page []byte, names []string) []string {
	var missing []string
	for _, n := range names {
		if !strings.Contains(string(page), "\n| `"+n+"` |") && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	return missing
}

// TestMissingRowsBites checks that a name mentioned only in prose, or in
// another column, is missing.
func TestMissingRowsBites(t *testing.T) {
	page := []byte("# Inputs\n\n| input | default |\n|---|---|\n| `images` | |\n| `other` | `timeout` |\n\nThe `summary` input.\n")
	if diff := cmp.Diff([]string{"timeout", "summary"}, missingRows(page, []string{"images", "timeout", "summary"})); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
}

// yamlKeys returns the keys of the mapping at path in the first YAML
// document of file.
func yamlKeys(t *testing.T, file string, path ...string) []string {
	t.Helper()
	v := firstDocument(t, file)
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: no mapping at %v", file, path)
	}
	return slices.Sorted(maps.Keys(m))
}

// yamlNames returns the names of a Task's params, results and workspaces.
func yamlNames(t *testing.T, file string) []string {
	t.Helper()
	spec, _ := firstDocument(t, file).(map[string]any)["spec"].(map[string]any)
	var out []string
	for _, list := range []string{"params", "results", "workspaces"} {
		items, _ := spec[list].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			name, _ := m["name"].(string)
			out = append(out, name)
		}
	}
	return out
}

// firstDocument parses the first YAML document of file.
func firstDocument(t *testing.T, file string) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(splitDocuments(data)[0], &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// flagNames returns the names in the composite literal of the inputs
// variable of a Go file: the flags of cmd/action.
func flagNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, file), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "inputs" || len(vs.Values) != 1 {
			return true
		}
		list, _ := vs.Values[0].(*ast.CompositeLit)
		for _, el := range list.Elts {
			lit, _ := el.(*ast.CompositeLit)
			for _, kv := range lit.Elts {
				if kv, ok := kv.(*ast.KeyValueExpr); ok && fmt.Sprint(kv.Key) == "name" {
					if s, ok := kv.Value.(*ast.BasicLit); ok {
						name, err := strconv.Unquote(s.Value)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, name)
					}
				}
			}
		}
		return false
	})
	return out
}
