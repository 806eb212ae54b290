package manifests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// keylessImage is the image the Tasks run by default: the released version.
const keylessImage = "ghcr.io/keyless-dev/keyless:v0.1.0"

// tektonContext returns a context carrying Tekton's default configuration with
// StepActions enabled (the flag is a no-op where they are stable).
func tektonContext(t *testing.T) context.Context {
	t.Helper()
	defaults, err := config.NewDefaultsFromMap(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	flags, err := config.NewFeatureFlagsFromMap(map[string]string{"enable-step-actions": "true"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.FromContextOrDefaults(context.Background())
	cfg.Defaults, cfg.FeatureFlags = defaults, flags
	return config.ToContext(context.Background(), cfg)
}

// validatable is what Tekton's API types implement.
type validatable[T any] interface {
	*T
	SetDefaults(context.Context)
}

// strictDecode decodes raw into a fresh T, rejecting unknown fields.
func strictDecode[T any](raw []byte) (*T, error) {
	obj := new(T)
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// defaultAndValidate decodes a Tekton object, applies defaults and validates it.
func defaultAndValidate[T any, P interface {
	validatable[T]
	Validate(context.Context) *apis.FieldError
}](ctx context.Context, raw []byte) error {
	obj, err := strictDecode[T](raw)
	if err != nil {
		return err
	}
	p := P(obj)
	nameGenerated(p)
	p.SetDefaults(ctx)
	if fe := p.Validate(ctx); fe != nil {
		return fe
	}
	return nil
}

// nameGenerated gives an object with only metadata.generateName the name
// the API server would generate before validating it.
func nameGenerated(obj any) {
	if o, ok := obj.(metav1.Object); ok && o.GetName() == "" && o.GetGenerateName() != "" {
		o.SetName(o.GetGenerateName() + "x7k2p")
	}
}

// validateDoc checks one document with the Go type of its kind.
func validateDoc(ctx context.Context, d Doc) error {
	switch d.APIVersion + "/" + d.Kind {
	case "tekton.dev/v1/Task":
		return defaultAndValidate[v1.Task, *v1.Task](ctx, d.Raw)
	case "tekton.dev/v1/Pipeline":
		return defaultAndValidate[v1.Pipeline, *v1.Pipeline](ctx, d.Raw)
	case "tekton.dev/v1/PipelineRun":
		return defaultAndValidate[v1.PipelineRun, *v1.PipelineRun](ctx, d.Raw)
	case "tekton.dev/v1/TaskRun":
		return defaultAndValidate[v1.TaskRun, *v1.TaskRun](ctx, d.Raw)
	case "tekton.dev/v1beta1/StepAction":
		return defaultAndValidate[v1beta1.StepAction, *v1beta1.StepAction](ctx, d.Raw)
	case "v1/ServiceAccount":
		return decodeOnly[corev1.ServiceAccount](d.Raw)
	case "v1/Secret":
		return decodeOnly[corev1.Secret](d.Raw)
	case "v1/ConfigMap":
		return decodeOnly[corev1.ConfigMap](d.Raw)
	case "rbac.authorization.k8s.io/v1/Role":
		return decodeOnly[rbacv1.Role](d.Raw)
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return decodeOnly[rbacv1.RoleBinding](d.Raw)
	case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
		return decodeOnly[rbacv1.ClusterRoleBinding](d.Raw)
	}
	return fmt.Errorf("unexpected kind %s/%s", d.APIVersion, d.Kind)
}

// decodeOnly checks that a Kubernetes object has no unknown fields.
func decodeOnly[T any](raw []byte) error {
	_, err := strictDecode[T](raw)
	return err
}

// tektonDocs loads every document under tekton/.
func tektonDocs(t *testing.T) []Doc {
	t.Helper()
	docs, err := LoadDocs("tekton")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no YAML documents under tekton/")
	}
	return docs
}

// TestTektonManifestsValidate validates every document under tekton/ with
// Tekton's (or Kubernetes') own Go types.
func TestTektonManifestsValidate(t *testing.T) {
	ctx := tektonContext(t)
	for _, d := range tektonDocs(t) {
		t.Run(d.String(), func(t *testing.T) {
			if err := validateDoc(ctx, d); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		})
	}
}

// TestTektonValidatorBites shows that validateDoc rejects broken copies of
// the keyless-sign Task and of a StepAction.
func TestTektonValidatorBites(t *testing.T) {
	ctx := tektonContext(t)
	sign := signTaskDoc(t)
	tests := []struct {
		name string
		doc  Doc
	}{
		{"undeclared param", edit(t, sign, "$(params.images[*])", "$(params.imagez[*])")},
		{"unknown field", edit(t, sign, "  params:\n", "  parameters: []\n  params:\n")},
		{"array param in env", edit(t, sign, "value: $(params.IMAGE_URL)", "value: $(params.images[*])")},
		{"bad result name", edit(t, sign, "- name: rekor-log-indexes", "- name: rekor log indexes")},
		{"step action with script and command", stepAction(
			"script: echo hi\n    command: [\"sh\"]")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validateDoc(ctx, tt.doc); err == nil {
				t.Errorf("validateDoc accepted a broken %s", tt.doc)
			}
		})
	}
	t.Run("valid step action", func(t *testing.T) {
		if err := validateDoc(ctx, stepAction("args: [\"sign\"]")); err != nil {
			t.Errorf("validateDoc rejected a valid StepAction: %v", err)
		}
	})
}

// stepAction returns a StepAction document whose spec ends with extra.
func stepAction(extra string) Doc {
	raw := "apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata:\n  name: keyless\n" +
		"spec:\n    image: " + keylessImage + "\n    " + extra + "\n"
	return Doc{Path: "inline", APIVersion: "tekton.dev/v1beta1", Kind: "StepAction", Name: "keyless", Raw: []byte(raw)}
}

// signTaskDoc returns the keyless-sign Task document.
func signTaskDoc(t *testing.T) Doc {
	t.Helper()
	for _, d := range tektonDocs(t) {
		if d.Kind == "Task" && d.Name == "keyless-sign" {
			return d
		}
	}
	t.Fatal("no keyless-sign Task under tekton/")
	return Doc{}
}

// edit returns a copy of d with old replaced by new, failing if old is absent.
func edit(t *testing.T, d Doc, old, new string) Doc {
	t.Helper()
	if !strings.Contains(string(d.Raw), old) {
		t.Fatalf("%s does not contain %q", d, old)
	}
	d.Raw = []byte(strings.Replace(string(d.Raw), old, new, 1))
	return d
}

// catalogTask is one Task in the catalog layout tekton/<name>/<version>/<name>.yaml.
type catalogTask struct {
	path, version string
	task          *v1.Task
}

// catalogTasks loads the Tasks of the catalog layout.
func catalogTasks(t *testing.T) []catalogTask {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(RepoRoot(), "tekton", "*", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tasks []catalogTask
	for _, p := range paths {
		name, version := filepath.Base(filepath.Dir(filepath.Dir(p))), filepath.Base(filepath.Dir(p))
		if filepath.Base(p) != name+".yaml" {
			continue
		}
		rel, _ := filepath.Rel(RepoRoot(), p)
		task, err := LoadTask(rel)
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, catalogTask{rel, version, task})
	}
	if got := len(tasks); got < 2 {
		t.Fatalf("found %d catalog Tasks, want keyless-sign and keyless-verify", got)
	}
	return tasks
}

// TestTektonCatalogConventions checks the catalog's labels, annotations and
// the keyless-specific rules on every catalog Task.
func TestTektonCatalogConventions(t *testing.T) {
	for _, ct := range catalogTasks(t) {
		t.Run(ct.path, func(t *testing.T) {
			var got []string
			got = append(got, catalogProblems(ct.task, ct.version)...)
			got = append(got, ResultDescriptionProblems(ct.task)...)
			got = append(got, stepProblems(ct.task)...)
			got = append(got, resultNameProblems(ct.task)...)
			got = append(got, keylessStepProblems(ct.task)...)
			if strings.HasSuffix(ct.task.Name, "-sign") {
				got = append(got, tokenVolumeProblems(ct.task)...)
			}
			if diff := cmp.Diff([]string(nil), got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTektonConventionCheckersBite breaks a copy of keyless-sign in each way
// the convention checks look for and compares the problems found.
func TestTektonConventionCheckersBite(t *testing.T) {
	tests := []struct {
		name  string
		check func(*v1.Task) []string
		spoil func(*v1.Task)
		want  []string
	}{
		{"missing annotation", func(tk *v1.Task) []string { return catalogProblems(tk, "0.1") },
			func(tk *v1.Task) { delete(tk.Annotations, "tekton.dev/platforms") },
			[]string{`annotation "tekton.dev/platforms" is empty`}},
		{"wrong version label", func(tk *v1.Task) []string { return catalogProblems(tk, "0.1") },
			func(tk *v1.Task) { tk.Labels["app.kubernetes.io/version"] = "0.2" },
			[]string{`label app.kubernetes.io/version is "0.2", want "0.1"`}},
		{"param in script", stepProblems,
			func(tk *v1.Task) { tk.Spec.Steps[0].Script = "echo $(params.images)" },
			[]string{`step "sign": script uses $(params.`}},
		{"onError continue", stepProblems,
			func(tk *v1.Task) { tk.Spec.Steps[0].OnError = v1.Continue },
			[]string{`step "sign": onError: continue`}},
		{"chains hint result", resultNameProblems,
			func(tk *v1.Task) {
				tk.Spec.Results = append(tk.Spec.Results, v1.TaskResult{Name: "SIGNED_IMAGE_DIGEST"})
			},
			[]string{`result "SIGNED_IMAGE_DIGEST" is a Tekton Chains type hint`}},
		{"undocumented IMAGES", resultNameProblems,
			func(tk *v1.Task) { tk.Spec.Results[len(tk.Spec.Results)-1].Description = "the images" },
			[]string{`result "IMAGES" must say it is written only when chains-type-hints is "true"`}},
		{"missing description", ResultDescriptionProblems,
			func(tk *v1.Task) { tk.Spec.Results[0].Description = " " },
			[]string{`result "digests" has no description`}},
		{"wrong audience", tokenVolumeProblems,
			func(tk *v1.Task) { tk.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.Audience = "api" },
			[]string{"no projected serviceAccountToken volume with audience sigstore mounted at /var/run/sigstore/cosign"}},
		{"unpinned image", keylessStepProblems,
			func(tk *v1.Task) {
				tk.Spec.Params[len(tk.Spec.Params)-1].Default = v1.NewStructuredValues("keyless:latest")
			},
			[]string{`param keyless-image defaults to "keyless:latest", want "` + keylessImage + `" or ` + keylessImage + `@sha256:<digest>`}},
		{"pinned to a short digest", keylessStepProblems,
			func(tk *v1.Task) {
				tk.Spec.Params[len(tk.Spec.Params)-1].Default = v1.NewStructuredValues(keylessImage + "@sha256:abc")
			},
			[]string{`param keyless-image defaults to "` + keylessImage + `@sha256:abc", want "` + keylessImage + `" or ` + keylessImage + `@sha256:<digest>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, err := LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string(nil), tt.check(task)); diff != "" {
				t.Fatalf("the unbroken Task already has problems (-want +got):\n%s", diff)
			}
			tt.spoil(task)
			if diff := cmp.Diff(tt.want, tt.check(task)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// catalogAnnotations must be set on every catalog Task.
var catalogAnnotations = []string{
	"tekton.dev/pipelines.minVersion",
	"tekton.dev/categories",
	"tekton.dev/tags",
	"tekton.dev/displayName",
	"tekton.dev/platforms",
}

// catalogProblems checks the Tekton catalog's metadata conventions.
func catalogProblems(task *v1.Task, version string) []string {
	var problems []string
	if got := task.Labels["app.kubernetes.io/version"]; got != version {
		problems = append(problems, fmt.Sprintf("label app.kubernetes.io/version is %q, want %q", got, version))
	}
	for _, key := range catalogAnnotations {
		if strings.TrimSpace(task.Annotations[key]) == "" {
			problems = append(problems, fmt.Sprintf("annotation %q is empty", key))
		}
	}
	if strings.TrimSpace(task.Spec.Description) == "" {
		problems = append(problems, "spec.description is empty")
	}
	return problems
}

// stepProblems finds params expanded into scripts and failures ignored.
func stepProblems(task *v1.Task) []string {
	var problems []string
	for _, s := range task.Spec.Steps {
		if strings.Contains(s.Script, "$(params.") {
			problems = append(problems, fmt.Sprintf("step %q: script uses $(params.", s.Name))
		}
		if s.OnError == v1.Continue {
			problems = append(problems, fmt.Sprintf("step %q: onError: continue", s.Name))
		}
	}
	return problems
}

// chainsHint matches the result names Tekton Chains reads as type hints.
var chainsHint = regexp.MustCompile(`(IMAGE_URL|IMAGE_DIGEST|ARTIFACT_URI|ARTIFACT_DIGEST|ARTIFACT_INPUTS|ARTIFACT_OUTPUTS)$|^ARTIFACT_`)

// resultNameProblems keeps Chains type hints out of the results, except
// IMAGES, which must be documented as written only on request.
func resultNameProblems(task *v1.Task) []string {
	var problems []string
	for _, r := range task.Spec.Results {
		switch {
		case r.Name == "IMAGES":
			if !strings.Contains(r.Description, `chains-type-hints param is "true"`) {
				problems = append(problems, `result "IMAGES" must say it is written only when chains-type-hints is "true"`)
			}
		case chainsHint.MatchString(r.Name):
			problems = append(problems, fmt.Sprintf("result %q is a Tekton Chains type hint", r.Name))
		}
	}
	return problems
}

// tokenVolumeProblems checks the projected identity token: audience sigstore,
// mounted where KEYLESS_IDENTITY_TOKEN_FILE points.
func tokenVolumeProblems(task *v1.Task) []string {
	volumes := map[string]bool{}
	for _, v := range task.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if sat := src.ServiceAccountToken; sat != nil && sat.Audience == "sigstore" && sat.Path == "oidc-token" {
				volumes[v.Name] = true
			}
		}
	}
	for _, s := range task.Spec.Steps {
		for _, m := range s.VolumeMounts {
			if volumes[m.Name] && m.MountPath == "/var/run/sigstore/cosign" &&
				env(s, "KEYLESS_IDENTITY_TOKEN_FILE") == "/var/run/sigstore/cosign/oidc-token" {
				return nil
			}
		}
	}
	return []string{"no projected serviceAccountToken volume with audience sigstore mounted at /var/run/sigstore/cosign"}
}

// keylessStepProblems checks how the step runs the binary: pinned image, no
// shell, the platform and results directory set.
func keylessStepProblems(task *v1.Task) []string {
	var problems []string
	for _, p := range task.Spec.Params {
		if p.Name == "keyless-image" && (p.Default == nil || !imageDefault.MatchString(p.Default.StringVal)) {
			got := ""
			if p.Default != nil {
				got = p.Default.StringVal
			}
			problems = append(problems, fmt.Sprintf("param keyless-image defaults to %q, want %q or %[2]s@sha256:<digest>", got, keylessImage))
		}
	}
	for _, s := range task.Spec.Steps {
		if s.Script != "" || len(s.Command) != 0 {
			problems = append(problems, fmt.Sprintf("step %q: uses script or command; the image has no shell", s.Name))
		}
		if env(s, "KEYLESS_PLATFORM") != "tekton" || env(s, "KEYLESS_RESULTS_DIR") != "/tekton/results" {
			problems = append(problems, fmt.Sprintf("step %q: KEYLESS_PLATFORM or KEYLESS_RESULTS_DIR not set", s.Name))
		}
	}
	return problems
}

// env returns the value of a step's environment variable.
func env(s v1.Step, name string) string {
	for _, e := range s.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestTektonCatalogLayout checks that each catalog Task has its README and
// samples, and that the top-level README exists.
func TestTektonCatalogLayout(t *testing.T) {
	want := []string{"README.md", "samples/pipeline.yaml", "samples/pipelinerun.yaml", "samples/serviceaccount.yaml", "tests/run.yaml", "../OWNERS"}
	for _, ct := range catalogTasks(t) {
		t.Run(ct.path, func(t *testing.T) {
			dir := filepath.Join(RepoRoot(), filepath.Dir(ct.path))
			var missing []string
			for _, f := range want {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					missing = append(missing, f)
				}
			}
			if diff := cmp.Diff([]string(nil), missing); diff != "" {
				t.Errorf("missing files (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(RepoRoot(), "tekton", "README.md")); err != nil {
		t.Error(err)
	}
}

// yamlBlock matches a fenced YAML code block in Markdown.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestTektonReadmeExamples validates the complete manifests (blocks with an
// apiVersion) that tekton/README.md offers for copy and paste.
func TestTektonReadmeExamples(t *testing.T) {
	ctx := tektonContext(t)
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "tekton", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for i, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
		if !strings.HasPrefix(m[1], "apiVersion:") {
			continue
		}
		docs, err := parseDocs(fmt.Sprintf("tekton/README.md block %d", i), []byte(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			n++
			if err := validateDoc(ctx, d); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		}
	}
	if n < 6 {
		t.Errorf("validated %d manifests in tekton/README.md, want the ServiceAccount, RBAC and Pipeline examples", n)
	}
}
