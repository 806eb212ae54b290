package manifests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// paramRef is a step value taken from one param, whole.
var paramRef = regexp.MustCompile(`^\$\(params\.[A-Za-z0-9_-]+(\[\*\])?\)$`)

// contextRef is a step value the controller sets: the TaskRun's own name,
// namespace or uid.
var contextRef = regexp.MustCompile(`^\$\(context\.taskRun\.[a-z]+\)$`)

// fixedEnv are the keyless variables a Task sets to its own constants or
// workspaces, not to an input.
var fixedEnv = map[string]bool{"KEYLESS_PLATFORM": true, "KEYLESS_RESULTS_DIR": true, "KEYLESS_IDENTITY_TOKEN_FILE": true, "KEYLESS_OUTPUT_DIR": true, "KEYLESS_DESTINATION_DOCKER_CONFIG": true}

// TestTektonInputsFromParams checks why no step's or Task's output can
// rewrite a keyless Task's policy input: Tekton results are files that a
// Pipeline hands on only by naming them in another Task's params, and
// every keyless input of these Tasks is exactly one param (no step result,
// no Task result, no envFrom); the rest is the TaskRun's own metadata. Whoever wires a result into a param wrote
// the Pipeline.
func TestTektonInputsFromParams(t *testing.T) {
	for _, ct := range catalogTasks(t) {
		t.Run(ct.path, func(t *testing.T) {
			if diff := cmp.Diff([]string(nil), paramProblems(ct.task)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func paramProblems(task *v1.Task) []string {
	var problems []string
	for _, s := range task.Spec.Steps {
		if len(s.EnvFrom) > 0 {
			problems = append(problems, fmt.Sprintf("step %q: envFrom can set any KEYLESS_* variable", s.Name))
		}
		for _, e := range s.Env {
			if !strings.HasPrefix(e.Name, "KEYLESS_") || fixedEnv[e.Name] {
				continue
			}
			fromController := contextRef.MatchString(e.Value) || e.ValueFrom != nil && e.ValueFrom.FieldRef != nil
			if !fromController && !paramRef.MatchString(e.Value) {
				problems = append(problems, fmt.Sprintf("step %q: %s = %q, want exactly one $(params.…) or a value the controller sets", s.Name, e.Name, e.Value))
			}
		}
		for _, a := range s.Args {
			if strings.Contains(a, "$(") && !paramRef.MatchString(a) {
				problems = append(problems, fmt.Sprintf("step %q: argument %q is not exactly one $(params.…)", s.Name, a))
			}
		}
	}
	return problems
}

// TestTektonParamCheckerBites shows paramProblems refusing a step result.
func TestTektonParamCheckerBites(t *testing.T) {
	task := catalogTasks(t)[0].task.DeepCopy()
	s := &task.Spec.Steps[0]
	for i, e := range s.Env {
		if strings.HasPrefix(e.Name, "KEYLESS_") && !fixedEnv[e.Name] {
			s.Env[i].Value = "$(steps.build.results.identity)"
			break
		}
	}
	if got := strings.Join(paramProblems(task), "\n"); !strings.Contains(got, "$(steps.build.results.identity)") {
		t.Errorf("problems %q, want one about the step result", got)
	}
}
