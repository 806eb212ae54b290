package manifests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/docs"
)

// policyGroups are the API groups of the admission policies, whose
// examples e2e/policies validates against the controllers' CRDs.
var policyGroups = []string{"kyverno.io/", "policy.sigstore.dev/"}

// docExamples returns the YAML examples of kind k in the repository's
// Markdown (internal/docs sorts them; its tests refuse one of no kind).
func docExamples(t *testing.T, k docs.Kind) []docs.Example {
	t.Helper()
	files, err := docs.Files(RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	var out []docs.Example
	for _, f := range files {
		ex, err := docs.Examples(RepoRoot(), f)
		if err != nil {
			t.Error(err)
		}
		for _, e := range ex {
			if e.Kind == k {
				out = append(out, e)
			}
		}
	}
	return out
}

// TestDocsKubernetesExamples validates every Kubernetes manifest of the
// documentation with Tekton's (or Kubernetes') own Go types, as the Tasks
// are validated, and checks that a TaskRun or a Pipeline task running a
// keyless Task gives it only params it declares, of their types.
func TestDocsKubernetesExamples(t *testing.T) {
	ctx := tektonContext(t)
	tasks := map[string]*v1.Task{}
	for _, ct := range catalogTasks(t) {
		tasks[ct.task.Name] = ct.task
	}
	n := 0
	for _, e := range docExamples(t, docs.Kubernetes) {
		ds, err := parseDocs(e.String(), []byte(strings.Join(byteStrings(e.Docs), "---\n")))
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		for _, d := range ds {
			if slices.ContainsFunc(policyGroups, func(g string) bool { return strings.HasPrefix(d.APIVersion, g) }) {
				continue
			}
			n++
			t.Run(d.String(), func(t *testing.T) {
				if err := validateDoc(ctx, d); err != nil {
					t.Fatalf("%s: %v", d, err)
				}
				if diff := cmp.Diff([]string(nil), keylessTaskProblems(t, d, tasks)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", d, diff)
				}
			})
		}
	}
	if n < 8 {
		t.Errorf("validated %d Kubernetes manifests in the documentation, want the README's and docs/tekton.md's", n)
	}
}

// byteStrings converts documents to strings.
func byteStrings(docs [][]byte) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = string(d)
	}
	return out
}

// keylessTaskProblems checks the params a TaskRun, or each task of a
// Pipeline, gives the keyless Task it runs by name.
func keylessTaskProblems(t *testing.T, d Doc, tasks map[string]*v1.Task) []string {
	t.Helper()
	switch d.Kind {
	case "TaskRun":
		tr, err := strictDecode[v1.TaskRun](d.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Spec.TaskRef == nil || tasks[tr.Spec.TaskRef.Name] == nil {
			return nil
		}
		return taskRunProblems(tasks[tr.Spec.TaskRef.Name], tr)
	case "Pipeline":
		p, err := strictDecode[v1.Pipeline](d.Raw)
		if err != nil {
			t.Fatal(err)
		}
		var problems []string
		for _, pt := range p.Spec.Tasks {
			if pt.TaskRef == nil || tasks[pt.TaskRef.Name] == nil {
				continue
			}
			tr := &v1.TaskRun{Spec: v1.TaskRunSpec{TaskRef: pt.TaskRef, Params: pt.Params}}
			tr.Name = pt.Name
			problems = append(problems, taskRunProblems(tasks[pt.TaskRef.Name], tr)...)
		}
		return problems
	}
	return nil
}

// componentInclude matches an include of a keyless template: a component
// of the catalog or a release's template file.
var componentInclude = regexp.MustCompile(`keyless-dev/keyless(?:/(sign|verify|promote)@|/-/raw/[^/]+/templates/(sign|verify|promote)\.yml$)`)

// TestDocsGitLabExamples validates every GitLab CI file of the
// documentation against GitLab's CI schema, and checks each include of a
// keyless template: inputs it declares, of their types, the required ones
// given, and a stage the file has.
func TestDocsGitLabExamples(t *testing.T) {
	sch := ciSchema(t)
	ex := docExamples(t, docs.GitLabCI)
	for _, e := range ex {
		t.Run(e.String(), func(t *testing.T) {
			if err := validateCI(sch, e.Values[0]); err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			if diff := cmp.Diff([]string(nil), includeProblems(t, e.Values[0].(map[string]any))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", e, diff)
			}
		})
	}
	if len(ex) < 4 {
		t.Errorf("validated %d GitLab CI files in the documentation, want the README's and docs/gitlab.md's", len(ex))
	}
}

// includeProblems checks the includes of keyless templates in a CI file.
func includeProblems(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	stages := asSlice(doc["stages"])
	n := 0
	for _, inc := range asSlice(doc["include"]) {
		ref, _ := lookup(inc, "component").(string)
		if ref == "" {
			ref, _ = lookup(inc, "remote").(string)
		}
		m := componentInclude.FindStringSubmatch(ref)
		if m == nil {
			continue
		}
		n++
		name := m[1] + m[2]
		tpl := loadTemplate(t, name+".yml")
		inputs, _ := lookup(inc, "inputs").(map[string]any)
		for k, v := range inputs {
			in, ok := tpl.header.Spec.Inputs[k]
			if !ok {
				add("%s: input %q is not declared by the template", name, k)
				continue
			}
			if !inputType(in.Type, v) {
				add("%s: input %q is %T, the template declares a %s", name, k, v, in.Type)
			}
		}
		for k, in := range tpl.header.Spec.Inputs {
			if _, ok := inputs[k]; !ok && in.Default == nil {
				add("%s: required input %q is missing", name, k)
			}
		}
		stage, _ := inputs["stage"].(string)
		if stage == "" {
			stage = "test"
		}
		if len(stages) > 0 && !containsValue(stages, stage) {
			add("%s runs in stage %q, which the file's stages %v lack", name, stage, stages)
		}
	}
	if n == 0 {
		add("no include of a keyless template")
	}
	return problems
}

// inputType reports whether v is a value of a spec:inputs type.
func inputType(typ string, v any) bool {
	switch v.(type) {
	case string:
		return typ == "string"
	case bool:
		return typ == "boolean"
	case float64, int, int64:
		return typ == "number"
	case []any:
		return typ == "array"
	}
	return false
}

// keylessActions maps the keyless actions to their action.yml.
var keylessActions = map[string]string{"keyless-dev/keyless": "action.yml", "keyless-dev/keyless/verify": "verify/action.yml", "keyless-dev/keyless/promote": "promote/action.yml", "keyless-dev/keyless/audit": "audit/action.yml"}

// TestDocsGitHubExamples lints every GitHub workflow of the documentation
// with actionlint, as scripts/test lints the repository's workflows, and
// checks each step using a keyless action: inputs its action.yml declares,
// the required ones given.
func TestDocsGitHubExamples(t *testing.T) {
	tools := os.Getenv("KEYLESS_TOOLS")
	if tools == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		tools = filepath.Join(cache, "keyless", "tools")
	}
	actionlint := filepath.Join(tools, "bin", "actionlint")
	if _, err := os.Stat(actionlint); err != nil {
		t.Fatalf("actionlint not built (run e2e/tools/build.sh): %v", err)
	}
	ex := docExamples(t, docs.GitHubWorkflow)
	for i, e := range ex {
		t.Run(e.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), ".github", "workflows")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, fmt.Sprintf("example%d.yml", i))
			if err := os.WriteFile(f, e.Docs[0], 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(actionlint, "-no-color", f)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: actionlint: %v\n%s", e, err, out)
			}
			if diff := cmp.Diff([]string(nil), actionStepProblems(t, e.Values[0].(map[string]any))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", e, diff)
			}
		})
	}
	if len(ex) < 2 {
		t.Errorf("linted %d GitHub workflows in the documentation, want the README's and docs/github.md's", len(ex))
	}
}

// actionStepProblems checks the steps of a workflow that use a keyless
// action.
func actionStepProblems(t *testing.T, wf map[string]any) []string {
	t.Helper()
	var problems []string
	n := 0
	jobs, _ := wf["jobs"].(map[string]any)
	for jobName, job := range jobs {
		for _, step := range asSlice(lookup(job, "steps")) {
			uses, _ := lookup(step, "uses").(string)
			action, _, _ := strings.Cut(uses, "@")
			file, ok := keylessActions[action]
			if !ok {
				continue
			}
			n++
			inputs := actionInputs(t, file)
			with, _ := lookup(step, "with").(map[string]any)
			for k := range with {
				if _, ok := inputs[k]; !ok {
					problems = append(problems, fmt.Sprintf("%s: %s: input %q is not declared by %s", jobName, uses, k, file))
				}
			}
			for k, required := range inputs {
				if _, ok := with[k]; required && !ok {
					problems = append(problems, fmt.Sprintf("%s: %s: required input %q is missing", jobName, uses, k))
				}
			}
		}
	}
	if n == 0 {
		problems = append(problems, "no step uses a keyless action")
	}
	return problems
}

// actionInputs returns the inputs of an action.yml and whether each is
// required.
func actionInputs(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), file))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Required bool `json:"required"`
		} `json:"inputs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string]bool{}
	for k, in := range action.Inputs {
		out[k] = in.Required
	}
	return out
}

// TestDocsCheckersBite breaks copies of documentation examples in the ways
// the checks above look for.
func TestDocsCheckersBite(t *testing.T) {
	ctx := tektonContext(t)
	tasks := map[string]*v1.Task{}
	for _, ct := range catalogTasks(t) {
		tasks[ct.task.Name] = ct.task
	}
	gitlab := func(s string) map[string]any {
		var v map[string]any
		if err := yaml.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		got  func() string
		want string
	}{
		{"an undeclared component input", func() string {
			return strings.Join(includeProblems(t, gitlab("include:\n  - component: $CI_SERVER_FQDN/keyless-dev/keyless/sign@v0.1.0\n    inputs: {images: x, signature-formats: both}\n")), "\n")
		}, `input "signature-formats" is not declared`},
		{"a component input of the wrong type", func() string {
			return strings.Join(includeProblems(t, gitlab("include:\n  - component: $CI_SERVER_FQDN/keyless-dev/keyless/sign@v0.1.0\n    inputs: {images: x, provenance: \"yes\"}\n")), "\n")
		}, `input "provenance" is string`},
		{"a stage the file lacks", func() string {
			return strings.Join(includeProblems(t, gitlab("stages: [build]\ninclude:\n  - remote: https://gitlab.com/keyless-dev/keyless/-/raw/v0.1.0/templates/verify.yml\n    inputs: {images: x, certificate-identity: y}\n")), "\n")
		}, `runs in stage "test"`},
		{"an undeclared action input", func() string {
			return strings.Join(actionStepProblems(t, gitlab("jobs:\n  a:\n    steps:\n      - uses: keyless-dev/keyless/verify@v0\n        with: {images: x, signature-format: both, provenance: true}\n")), "\n")
		}, `input "provenance" is not declared by verify/action.yml`},
		{"an undeclared Task param", func() string {
			d := Doc{Kind: "TaskRun", Raw: []byte("apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: x}\nspec:\n  taskRef: {name: keyless-verify}\n  params:\n    - {name: images, value: [x]}\n    - {name: verify, value: \"true\"}\n")}
			return strings.Join(keylessTaskProblems(t, d, tasks), "\n")
		}, `param "verify" is not declared by keyless-verify`},
		{"an invalid Tekton manifest", func() string {
			d := Doc{Kind: "TaskRun", APIVersion: "tekton.dev/v1", Raw: []byte("apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: x}\nspec:\n  taskRef: {name: keyless-sign}\n  serviceAccount: old-field\n")}
			return fmt.Sprint(validateDoc(ctx, d))
		}, `unknown field "serviceAccount"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one about %q", got, tc.want)
			}
		})
	}
}
