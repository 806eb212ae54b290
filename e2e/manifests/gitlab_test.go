package manifests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// ciSchemaURL is the $id of GitLab's CI schema.
const ciSchemaURL = "https://gitlab.com/.gitlab-ci.yml"

// ciSchemaSHA256 pins testdata/gitlab-ci.json: gitlabhq/gitlabhq
// app/assets/javascripts/editor/schema/ci.json at commit
// 0286e4c628d68960d0ca9e961d82c3ea6ac90633 (114623 characters).
const ciSchemaSHA256 = "68fe6fb2b2db887afc71ed369ee0b4099546e2e813128871beac87983b9cbc02"

// debugImage is the image the GitLab templates run: the release's -debug
// variant, which has the busybox shell a GitLab `script` needs.
const debugImage = "ghcr.io/keyless-dev/keyless:v0.1.0-debug"

// templates maps each component template to its subcommand.
var templates = map[string]string{"sign.yml": "sign", "verify.yml": "verify", "promote.yml": "promote"}

// requiredInputs are the inputs that deliberately have no default: the
// destination of a promotion (images may be left out when images-from
// names the images).
var requiredInputs = map[string]bool{"destination": true}

// sampleValues fill inputs that have no default when instantiating a template.
var sampleValues = map[string]any{"images": "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA", "destination": "$CI_REGISTRY_IMAGE/prod"}

// ciSchema compiles GitLab's CI schema (draft-07).
func ciSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "gitlab-ci.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != ciSchemaSHA256 {
		t.Fatalf("testdata/gitlab-ci.json sha256 = %s, want %s", got, ciSchemaSHA256)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(ciSchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(ciSchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// input is one entry of a template's spec:inputs.
type input struct {
	Type        string          `json:"type"`
	Default     json.RawMessage `json:"default"`
	Description string          `json:"description"`
	Options     []any           `json:"options"`
	Regex       string          `json:"regex"`
}

// header is a template's first document.
type header struct {
	Spec struct {
		Inputs map[string]input `json:"inputs"`
	} `json:"spec"`
}

// template is a parsed component template.
type template struct {
	header header
	raw    []byte // the header document, for schema validation
	body   []byte
}

// splitTemplate splits a template into its spec header and its job document.
func splitTemplate(data []byte) (template, error) {
	docs := SplitDocuments(data)
	if len(docs) != 2 {
		return template{}, fmt.Errorf("%d documents, want a spec header and a body", len(docs))
	}
	var h header
	if err := yaml.UnmarshalStrict(docs[0], &h); err != nil {
		return template{}, fmt.Errorf("header: %w", err)
	}
	return template{header: h, raw: docs[0], body: docs[1]}, nil
}

// loadTemplate reads and splits gitlab/templates/<name>.
func loadTemplate(t *testing.T, name string) template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "gitlab", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := splitTemplate(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tpl
}

// inputProblems checks the inputs' declarations: type, description, default
// of the right type, options and regex that admit the default.
func inputProblems(h header) []string {
	var problems []string
	if len(h.Spec.Inputs) == 0 {
		return []string{"spec.inputs is empty"}
	}
	for _, name := range slices.Sorted(maps.Keys(h.Spec.Inputs)) {
		problems = append(problems, oneInputProblems(name, h.Spec.Inputs[name])...)
	}
	return problems
}

// oneInputProblems checks one input declaration.
func oneInputProblems(name string, in input) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("input %q: ", name)+fmt.Sprintf(format, args...))
	}
	if d := strings.TrimSpace(in.Description); d == "" || len(d) > 1024 {
		add("description must be 1 to 1024 characters")
	}
	want := map[string]string{"string": "string", "boolean": "bool", "number": "float64", "array": "[]interface {}"}[in.Type]
	if want == "" {
		add("type %q, want string, boolean, number or array", in.Type)
		return problems
	}
	if in.Default == nil {
		if !requiredInputs[name] {
			add("no default")
		}
		return problems
	}
	var def any
	if err := json.Unmarshal(in.Default, &def); err != nil || fmt.Sprintf("%T", def) != want {
		add("default %s is not a %s", in.Default, in.Type)
		return problems
	}
	if len(in.Options) > 0 && !containsValue(in.Options, def) {
		add("default %v is not one of the options %v", def, in.Options)
	}
	if in.Regex != "" {
		re, err := regexp.Compile(in.Regex)
		if err != nil {
			add("regex: %v", err)
		} else if s, ok := def.(string); ok && !re.MatchString(s) {
			add("default %q does not match regex %s", s, in.Regex)
		}
	}
	return problems
}

func containsValue(options []any, v any) bool {
	for _, o := range options {
		if o == v {
			return true
		}
	}
	return false
}

// inputValues returns the value of every input: its default or a sample.
func inputValues(h header) (map[string]any, error) {
	values := map[string]any{}
	for name, in := range h.Spec.Inputs {
		v, ok := sampleValues[name]
		if in.Default != nil {
			if err := json.Unmarshal(in.Default, &v); err != nil {
				return nil, err
			}
			ok = true
		}
		if !ok {
			return nil, fmt.Errorf("input %q has neither a default nor a sample value", name)
		}
		values[name] = v
	}
	return values, nil
}

// toJSONValue round-trips v through JSON so the schema validator sees only
// JSON types (float64 numbers, map[string]any objects).
func toJSONValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// instantiate interpolates a template with its defaults and sample values.
func instantiate(t *testing.T, tpl template) map[string]any {
	t.Helper()
	values, err := inputValues(tpl.header)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Interpolate(tpl.body, values)
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any)
}

// validateCI validates a CI document against the schema.
func validateCI(sch *jsonschema.Schema, doc any) error {
	v, err := toJSONValue(doc)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestGitLabSchemaData checks that the stored schema is intact JSON draft-07.
func TestGitLabSchemaData(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "gitlab-ci.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	want := struct{ Schema, ID string }{"http://json-schema.org/draft-07/schema#", ciSchemaURL}
	if diff := cmp.Diff(want, struct{ Schema, ID string }{schema.Schema, schema.ID}); diff != "" {
		t.Errorf("schema header (-want +got):\n%s", diff)
	}
	ciSchema(t)
}

// TestGitLabTemplatesValidate checks each template's header and validates
// its instantiated body and its header against GitLab's CI schema.
func TestGitLabTemplatesValidate(t *testing.T) {
	sch := ciSchema(t)
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		t.Run(name, func(t *testing.T) {
			tpl := loadTemplate(t, name)
			if diff := cmp.Diff([]string(nil), inputProblems(tpl.header)); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			var head any
			if err := yaml.Unmarshal(tpl.raw, &head); err != nil {
				t.Fatal(err)
			}
			if err := validateCI(sch, head); err != nil {
				t.Errorf("header: %v", err)
			}
			if err := validateCI(sch, instantiate(t, tpl)); err != nil {
				t.Errorf("body: %v", err)
			}
		})
	}
}

// TestGitLabJobShape checks what the schema cannot: the job runs keyless in
// script (never after_script) from the pinned -debug image, asks for a
// sigstore ID token when signing, and reports dotenv and annotations.
func TestGitLabJobShape(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		t.Run(name, func(t *testing.T) {
			tpl := loadTemplate(t, name)
			if diff := cmp.Diff([]string(nil), jobProblems(instantiate(t, tpl), templates[name])); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// jobProblems inspects the single job of an instantiated template.
func jobProblems(doc map[string]any, command string) []string {
	if len(doc) != 1 {
		return []string{fmt.Sprintf("%d top-level keys, want one job", len(doc))}
	}
	var job map[string]any
	for _, v := range doc {
		job, _ = v.(map[string]any)
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if got := asSlice(lookup(job, "script")); len(got) != 1 || !strings.HasPrefix(fmt.Sprint(got[0]), "/keyless "+command+" ") {
		add("script = %v, want one line running /keyless %s", lookup(job, "script"), command)
	}
	if got := lookup(job, "after_script"); got != nil {
		add("after_script = %v, want none", got)
	}
	if got := lookup(job, "image", "name"); got != debugImage {
		add("image.name = %v, want %s", got, debugImage)
	}
	if got := lookup(job, "image", "entrypoint"); !cmp.Equal(got, []any{""}) {
		add(`image.entrypoint = %v, want [""]`, got)
	}
	if got := lookup(job, "id_tokens", "SIGSTORE_ID_TOKEN", "aud"); command == "sign" && got != "sigstore" {
		add("id_tokens.SIGSTORE_ID_TOKEN.aud = %v, want sigstore", got)
	}
	if got := lookup(job, "artifacts", "reports", "dotenv"); got != "keyless/keyless.env" {
		add("artifacts.reports.dotenv = %v, want keyless/keyless.env", got)
	}
	if got := lookup(job, "artifacts", "reports", "annotations"); got != "keyless/annotations.json" {
		add("artifacts.reports.annotations = %v, want keyless/annotations.json", got)
	}
	if lookup(job, "artifacts", "expose_as") == nil || !containsValue(asSlice(lookup(job, "artifacts", "paths")), "keyless/summary.md") {
		add("artifacts must expose keyless/summary.md")
	}
	return problems
}

// lookup walks nested mappings; it returns nil where a key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestGitLabCheckersBite shows that each check rejects a broken template.
func TestGitLabCheckersBite(t *testing.T) {
	sch := ciSchema(t)
	sign := loadTemplate(t, "sign.yml")
	job := func(mutate func(map[string]any)) map[string]any {
		doc := instantiate(t, sign)
		for _, v := range doc {
			mutate(v.(map[string]any))
		}
		return doc
	}
	t.Run("schema rejects an unknown job keyword", func(t *testing.T) {
		if err := validateCI(sch, job(func(j map[string]any) { j["scripts"] = j["script"] })); err == nil {
			t.Error("the schema accepted a job with `scripts`")
		}
	})
	t.Run("schema rejects a variable that is a list", func(t *testing.T) {
		doc := job(func(j map[string]any) { j["variables"] = map[string]any{"DOCKER_HOST": []any{"a", "b"}} })
		if err := validateCI(sch, doc); err == nil {
			t.Error("the schema accepted a list-valued variable")
		}
	})
	t.Run("signing in after_script", func(t *testing.T) {
		var line any
		doc := job(func(j map[string]any) {
			line = j["script"].([]any)[0]
			j["after_script"], j["script"] = j["script"], []any{"true"}
		})
		want := []string{"script = [true], want one line running /keyless sign", fmt.Sprintf("after_script = [%v], want none", line)}
		if diff := cmp.Diff(want, jobProblems(doc, "sign")); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("no id token", func(t *testing.T) {
		doc := job(func(j map[string]any) { delete(j, "id_tokens") })
		want := []string{"id_tokens.SIGSTORE_ID_TOKEN.aud = <nil>, want sigstore"}
		if diff := cmp.Diff(want, jobProblems(doc, "sign")); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("bad input declarations", func(t *testing.T) {
		var h header
		h.Spec.Inputs = map[string]input{
			"format":  {Type: "string", Default: json.RawMessage(`"zip"`), Description: "d", Options: []any{"bundle"}},
			"flag":    {Type: "boolean", Default: json.RawMessage(`"yes"`), Description: "d"},
			"timeout": {Type: "string", Default: json.RawMessage(`"soon"`), Description: "", Regex: `^[0-9]+m$`},
			"kind":    {Type: "object", Description: "d"},
		}
		want := []string{
			`input "flag": default "yes" is not a boolean`,
			`input "format": default zip is not one of the options [bundle]`,
			`input "kind": type "object", want string, boolean, number or array`,
			`input "timeout": description must be 1 to 1024 characters`,
			`input "timeout": default "soon" does not match regex ^[0-9]+m$`,
		}
		if diff := cmp.Diff(want, inputProblems(h)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("typed interpolation", func(t *testing.T) {
		got, err := Interpolate([]byte("\"$[[ inputs.n ]]-x\":\n  rules: $[[ inputs.r ]]\n  v: \"$[[ inputs.b ]]\"\n"),
			map[string]any{"n": "job", "r": []any{map[string]any{"when": "always"}}, "b": true})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"job-x": map[string]any{"rules": []any{map[string]any{"when": "always"}}, "v": true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("interpolate (-want +got):\n%s", diff)
		}
	})
}
