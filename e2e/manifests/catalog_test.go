package manifests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// TestTektonCatalogOwners checks the OWNERS file the Tekton catalog wants in
// each Task's directory: Prow's approvers and reviewers, both named.
func TestTektonCatalogOwners(t *testing.T) {
	for _, ct := range catalogTasks(t) {
		t.Run(ct.path, func(t *testing.T) {
			path := filepath.Join(RepoRoot(), filepath.Dir(filepath.Dir(ct.path)), "OWNERS")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var owners struct {
				Approvers []string `json:"approvers"`
				Reviewers []string `json:"reviewers"`
			}
			if err := yaml.UnmarshalStrict(data, &owners); err != nil {
				t.Fatalf("OWNERS: %v", err)
			}
			if len(owners.Approvers) == 0 || len(owners.Reviewers) == 0 {
				t.Errorf("OWNERS names %d approvers and %d reviewers, want both", len(owners.Approvers), len(owners.Reviewers))
			}
		})
	}
}

// TestTektonCatalogTests checks each Task's catalog test (tests/run.yaml):
// it runs this Task, and gives only params the Task declares, with their
// types. (TestTektonManifestsValidate validates the documents themselves.)
func TestTektonCatalogTests(t *testing.T) {
	for _, ct := range catalogTasks(t) {
		t.Run(ct.path, func(t *testing.T) {
			rel := filepath.Join(filepath.Dir(ct.path), "tests", "run.yaml")
			data, err := os.ReadFile(filepath.Join(RepoRoot(), rel))
			if err != nil {
				t.Fatal(err)
			}
			docs, err := parseDocs(rel, data)
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			runs := 0
			for _, d := range docs {
				if d.Kind != "TaskRun" {
					continue
				}
				runs++
				var tr v1.TaskRun
				if err := yaml.UnmarshalStrict(d.Raw, &tr); err != nil {
					t.Fatal(err)
				}
				problems = append(problems, taskRunProblems(ct.task, &tr)...)
			}
			if runs == 0 {
				problems = append(problems, "no TaskRun")
			}
			if diff := cmp.Diff([]string(nil), problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// taskRunProblems checks that tr runs task with params it declares.
func taskRunProblems(task *v1.Task, tr *v1.TaskRun) []string {
	var problems []string
	if tr.Spec.TaskRef == nil || tr.Spec.TaskRef.Name != task.Name {
		problems = append(problems, fmt.Sprintf("TaskRun %s does not run Task %s", tr.Name, task.Name))
	}
	declared := map[string]v1.ParamType{}
	for _, p := range task.Spec.Params {
		declared[p.Name] = p.Type
	}
	for _, p := range tr.Spec.Params {
		typ, ok := declared[p.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("param %q is not declared by %s", p.Name, task.Name))
		case typ != p.Value.Type:
			problems = append(problems, fmt.Sprintf("param %q is a %s, %s declares a %s", p.Name, p.Value.Type, task.Name, typ))
		}
	}
	return problems
}

// TestTektonCatalogTestHook runs keyless-sign's pre-apply-task-hook.sh as
// the catalog's harness does (sourced by bash, the Task's copy in TMPF, an
// add_sidecar_registry that adds a registry sidecar) and validates the Task
// it leaves behind with Tekton's types.
func TestTektonCatalogTestHook(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	hook := filepath.Join(RepoRoot(), "tekton", "keyless-sign", "0.1", "tests", "pre-apply-task-hook.sh")
	tmpf := filepath.Join(t.TempDir(), "task.yaml")
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "tekton", "keyless-sign", "0.1", "keyless-sign.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The harness's add_sidecar_registry sets spec.sidecars to one
	// container named registry, from the image "registry".
	script := `add_sidecar_registry() { printf '  sidecars:\n    - name: registry\n      image: registry\n' >> "$1"; }
source "$HOOK"`
	cmd := exec.Command(bash, "-euc", script)
	cmd.Env = append(os.Environ(), "HOOK="+hook, "TMPF="+tmpf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hook: %v\n%s", err, out)
	}
	got, err := os.ReadFile(tmpf)
	if err != nil {
		t.Fatal(err)
	}
	d := Doc{Path: "hooked keyless-sign", APIVersion: "tekton.dev/v1", Kind: "Task", Name: "keyless-sign", Raw: got}
	if err := validateDoc(tektonContext(t), d); err != nil {
		t.Fatalf("the hooked Task does not validate: %v\n%s", err, got)
	}
	var task v1.Task
	if err := yaml.UnmarshalStrict(got, &task); err != nil {
		t.Fatal(err)
	}
	var steps, sidecars []string
	for _, s := range task.Spec.Steps {
		steps = append(steps, s.Name)
	}
	for _, s := range task.Spec.Sidecars {
		sidecars = append(sidecars, s.Name)
	}
	if diff := cmp.Diff([]string{"push-test-image", "sign"}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"registry"}, sidecars); diff != "" {
		t.Errorf("sidecars (-want +got):\n%s", diff)
	}
	// The pushed image is the one the test signs.
	if !strings.Contains(task.Spec.Steps[0].Script, "localhost:5000/keyless-test:latest") {
		t.Errorf("the push step does not push the image tests/run.yaml signs")
	}
}

// imageDefault is the keyless-image param default: the released tag, which
// the release pins by digest in place (tag@sha256:…).
var imageDefault = regexp.MustCompile(`^` + regexp.QuoteMeta(keylessImage) + `(@sha256:[0-9a-f]{64})?$`)
