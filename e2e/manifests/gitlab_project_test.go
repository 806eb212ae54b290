package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// projectPipeline reads gitlab/.gitlab-ci.yml, the pipeline of the component
// project (gitlab/ is the root of the GitLab project).
func projectPipeline(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "gitlab", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestGitLabProjectPipelineValidates validates the component project's
// pipeline against GitLab's CI schema.
func TestGitLabProjectPipelineValidates(t *testing.T) {
	if err := validateCI(ciSchema(t), projectPipeline(t)); err != nil {
		t.Error(err)
	}
}

// TestGitLabProjectPipeline checks what the schema cannot: every component
// is included at the pipeline's own commit with inputs it declares, in
// stages after the job that pushes the test image, and a version tag makes a
// release in the last stage.
func TestGitLabProjectPipeline(t *testing.T) {
	if diff := cmp.Diff([]string(nil), projectProblems(t, projectPipeline(t))); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestGitLabProjectCheckersBite breaks copies of the pipeline in the ways
// projectProblems looks for.
func TestGitLabProjectCheckersBite(t *testing.T) {
	includes := func(doc map[string]any) []any { return doc["include"].([]any) }
	for _, tc := range []struct {
		name  string
		spoil func(doc map[string]any)
		want  string
	}{
		{"a released component instead of this commit's", func(doc map[string]any) {
			includes(doc)[0].(map[string]any)["component"] = "$CI_SERVER_FQDN/$CI_PROJECT_PATH/sign@v0.1.0"
		}, "not at this commit"},
		{"verify untested", func(doc map[string]any) { doc["include"] = includes(doc)[:1] }, "verify.yml is not tested"},
		{"an undeclared input", func(doc map[string]any) {
			includes(doc)[1].(map[string]any)["inputs"].(map[string]any)["certificate-identity-regex"] = "x"
		}, `input "certificate-identity-regex" is not declared`},
		{"verify before sign", func(doc map[string]any) {
			includes(doc)[1].(map[string]any)["inputs"].(map[string]any)["stage"] = "build"
		}, "stage"},
		{"release on every branch", func(doc map[string]any) { delete(doc["create-release"].(map[string]any), "rules") }, "tags only"},
		{"no release", func(doc map[string]any) { delete(doc, "create-release") }, "no job with the release keyword"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := projectPipeline(t)
			tc.spoil(doc)
			got := strings.Join(projectProblems(t, doc), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one about %q", got, tc.want)
			}
		})
	}
}

// componentRef matches a component of this project at the pipeline's commit.
var componentRef = regexp.MustCompile(`^\$CI_SERVER_FQDN/\$CI_PROJECT_PATH/([a-z-]+)@(.+)$`)

// projectProblems lists what is wrong with the component project's pipeline.
func projectProblems(t *testing.T, doc map[string]any) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	stages := []string{}
	for _, s := range asSlice(doc["stages"]) {
		stages = append(stages, fmt.Sprint(s))
	}
	stage := func(s any) int { return slices.Index(stages, fmt.Sprint(s)) }
	build := -1
	for name, v := range doc {
		if job, ok := v.(map[string]any); ok && lookup(job, "script") != nil && lookup(job, "release") == nil && name != "workflow" {
			build = max(build, stage(job["stage"]))
		}
	}
	tested := map[string]int{}
	for _, inc := range asSlice(doc["include"]) {
		ref, _ := lookup(inc, "component").(string)
		m := componentRef.FindStringSubmatch(ref)
		if m == nil {
			add("include %v is not a component of this project", inc)
			continue
		}
		if m[2] != "$CI_COMMIT_SHA" {
			add("component %s is not at this commit ($CI_COMMIT_SHA)", ref)
		}
		tpl := loadTemplate(t, m[1]+".yml")
		inputs, _ := lookup(inc, "inputs").(map[string]any)
		for name := range inputs {
			if _, ok := tpl.header.Spec.Inputs[name]; !ok {
				add("%s: input %q is not declared by the template", m[1], name)
			}
		}
		for name, in := range tpl.header.Spec.Inputs {
			if _, ok := inputs[name]; !ok && in.Default == nil {
				add("%s: required input %q is missing", m[1], name)
			}
		}
		s := stage(inputs["stage"])
		if s <= build {
			add("%s runs in stage %v, not after the job that pushes the test image", m[1], inputs["stage"])
		}
		tested[m[1]+".yml"] = s
	}
	for name := range templates {
		if _, ok := tested[name]; !ok {
			add("%s is not tested", name)
		}
	}
	if s, v := tested["sign.yml"], tested["verify.yml"]; v <= s {
		add("verify runs in stage %d, not after sign (stage %d)", v, s)
	}
	releases := 0
	for _, v := range doc {
		job, ok := v.(map[string]any)
		if !ok || lookup(job, "release") == nil {
			continue
		}
		releases++
		if lookup(job, "release", "tag_name") != "$CI_COMMIT_TAG" {
			add("release.tag_name = %v, want $CI_COMMIT_TAG", lookup(job, "release", "tag_name"))
		}
		rules := asSlice(job["rules"])
		if len(rules) != 1 || !strings.HasPrefix(fmt.Sprint(lookup(rules[0], "if")), "$CI_COMMIT_TAG") {
			add("the release job must run on version tags only: rules %v", job["rules"])
		}
		if stage(job["stage"]) != len(stages)-1 {
			add("the release job runs in stage %v, not the last one", job["stage"])
		}
	}
	if releases == 0 {
		add("no job with the release keyword")
	}
	return problems
}
