package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/docs"
)

// packOrb packs an unpacked orb as circleci orb pack does: @orb.yml, and
// each file of a directory under the directory's key, by its name.
func packOrb(t *testing.T, src string) map[string]any {
	t.Helper()
	v, err := readYAML(filepath.Join(src, "@orb.yml"))
	if err != nil {
		t.Fatal(err)
	}
	orb := v.(map[string]any)
	dirs, err := os.ReadDir(filepath.Join(RepoRoot(), src))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(RepoRoot(), src, d.Name(), "*.yml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s/%s: no files (%v)", src, d.Name(), err)
		}
		m := map[string]any{}
		for _, f := range files {
			rel, _ := filepath.Rel(RepoRoot(), f)
			v, err := readYAML(rel)
			if err != nil {
				t.Fatal(err)
			}
			m[strings.TrimSuffix(filepath.Base(f), ".yml")] = v
		}
		orb[d.Name()] = m
	}
	return orb
}

// TestOrbSchema validates the packed orb, and each of its examples' usage,
// against CircleCI's configuration schema, and checks each example's use
// of the orb.
func TestOrbSchema(t *testing.T) {
	sch, err := circleciSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	orb := packOrb(t, "orb/src")
	if err := validate(sch, orb); err != nil {
		t.Fatalf("the packed orb: %v", err)
	}
	for _, kind := range []string{"commands", "jobs", "executors", "examples"} {
		if len(orb[kind].(map[string]any)) == 0 {
			t.Errorf("the orb has no %s", kind)
		}
	}
	for name, ex := range orb["examples"].(map[string]any) {
		t.Run("example "+name, func(t *testing.T) {
			usage := ex.(map[string]any)["usage"]
			if err := validate(sch, usage); err != nil {
				t.Fatalf("usage: %v", err)
			}
			if diff := cmp.Diff([]string(nil), orbUseProblems(orb, usage)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDocsCircleCIExamples validates every CircleCI config of the
// documentation against CircleCI's schema and checks its use of the orb.
func TestDocsCircleCIExamples(t *testing.T) {
	sch, err := circleciSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	orb := packOrb(t, "orb/src")
	ex := docExamples(t, docs.CircleCIConfig)
	for _, e := range ex {
		t.Run(e.String(), func(t *testing.T) {
			if err := validate(sch, e.Values[0]); err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			if diff := cmp.Diff([]string(nil), orbUseProblems(orb, e.Values[0])); diff != "" {
				t.Errorf("%s (-want +got):\n%s", e, diff)
			}
		})
	}
	if len(ex) < 2 {
		t.Errorf("%d CircleCI configs in the documentation, want docs/circleci.md's", len(ex))
	}
}

// orbUseProblems checks a configuration's use of the keyless orb: it
// imports keyless-dev/keyless at a version, and each keyless/<job> of a
// workflow and keyless/<command> of a job's steps exists and is given only
// parameters it declares, of their types, with every required one.
func orbUseProblems(orb map[string]any, config any) []string {
	cfg, _ := config.(map[string]any)
	orbs, _ := cfg["orbs"].(map[string]any)
	alias := ""
	for a, ref := range orbs {
		if s, _ := ref.(string); strings.HasPrefix(s, "keyless-dev/keyless@") {
			alias = a
		}
	}
	if alias == "" {
		return []string{"the configuration does not import keyless-dev/keyless@<version>"}
	}
	var problems []string
	check := func(kind, name string, given any) {
		def, ok := orb[kind].(map[string]any)[name].(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("the orb has no %s %s", kind, name))
			return
		}
		params, _ := def["parameters"].(map[string]any)
		args, _ := given.(map[string]any)
		for k, v := range args {
			if kind == "jobs" && slices.Contains([]string{"requires", "context", "name", "filters", "matrix", "type", "pre-steps", "post-steps"}, k) {
				continue
			}
			p, ok := params[k].(map[string]any)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s/%s has no parameter %s", alias, name, k))
				continue
			}
			if err := parameterValue(p, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s/%s %s: %v", alias, name, k, err))
			}
		}
		for k, p := range params {
			if _, hasDefault := p.(map[string]any)["default"]; !hasDefault && args[k] == nil {
				problems = append(problems, fmt.Sprintf("%s/%s needs %s", alias, name, k))
			}
		}
	}
	workflows, _ := cfg["workflows"].(map[string]any)
	for _, w := range workflows {
		jobs, _ := w.(map[string]any)["jobs"].([]any)
		for _, j := range jobs {
			m, ok := j.(map[string]any)
			if !ok {
				continue
			}
			for name, args := range m {
				if job, ok := strings.CutPrefix(name, alias+"/"); ok {
					check("jobs", job, args)
				}
			}
		}
	}
	jobs, _ := cfg["jobs"].(map[string]any)
	for _, j := range jobs {
		steps, _ := j.(map[string]any)["steps"].([]any)
		for _, s := range steps {
			m, _ := s.(map[string]any)
			for name, args := range m {
				if cmd, ok := strings.CutPrefix(name, alias+"/"); ok {
					check("commands", cmd, args)
				}
			}
		}
		if ex, _ := j.(map[string]any)["executor"].(string); strings.HasPrefix(ex, alias+"/") {
			check("executors", strings.TrimPrefix(ex, alias+"/"), nil)
		}
	}
	return problems
}

// parameterValue checks v against an orb parameter's type.
func parameterValue(p map[string]any, v any) error {
	switch p["type"] {
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			return fmt.Errorf("%v is not an integer", v)
		}
	case "enum":
		if !slices.Contains(p["enum"].([]any), v) {
			return fmt.Errorf("%v is not one of %v", v, p["enum"])
		}
	case "string", "env_var_name":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%v is not a string", v)
		}
	}
	return nil
}

// TestOrbUseCheckerBites: a misspelt parameter, a bad enum value and a
// job the orb does not have are found.
func TestOrbUseCheckerBites(t *testing.T) {
	orb := packOrb(t, "orb/src")
	var cfg any
	if err := yaml.Unmarshal([]byte(`version: 2.1
orbs: {keyless: keyless-dev/keyless@0.1.0}
workflows:
  w:
    jobs:
      - keyless/sign: {images-form: m.json, signature-format: gpg, context: c}
      - keyless/attest: {}
`), &cfg); err != nil {
		t.Fatal(err)
	}
	sch, err := circleciSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]any{"version": 2.1, "commands": map[string]any{"c": map[string]any{"steps": []any{
		map[string]any{"store_artifacts": map[string]any{"path": "keyless", "when": "always"}}}}}}
	if err := validate(sch, bad); err == nil {
		t.Error("the schema takes a store_artifacts step with when:")
	}
	got := strings.Join(orbUseProblems(orb, cfg), "\n")
	for _, want := range []string{"keyless/sign has no parameter images-form", "keyless/sign signature-format: gpg is not one of", "the orb has no jobs attest"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
