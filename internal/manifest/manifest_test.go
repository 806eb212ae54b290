package manifest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
)

const workloads = `# the workloads of one release
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: registry.example.com/app/migrate@sha256:1111111111111111111111111111111111111111111111111111111111111111
      containers:
        - name: app
          image: registry.example.com/app/web:v1
        - name: sidecar
          image: registry.example.com/proxy@sha256:2222222222222222222222222222222222222222222222222222222222222222
--- # a comment after the separator
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: registry.example.com/app/job:v2}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: main, image: busybox}]
  ephemeralContainers: [{name: shell, image: busybox:1.36}]
---
{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
 "spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent}
    spec: {template: {spec: {containers: [{name: agent, image: agent:1}]}}}
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: once}
    spec: {template: {spec: {containers: [{name: once, image: once:1}]}}}
`

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		want    []Image
		skipped int
	}{
		{"workloads, pods, lists and JSON", workloads, []Image{
			{"registry.example.com/app/migrate@sha256:1111111111111111111111111111111111111111111111111111111111111111", "f.yaml:2: Deployment prod/web, initContainer migrate"},
			{"registry.example.com/app/web:v1", "f.yaml:2: Deployment prod/web, container app"},
			{"registry.example.com/proxy@sha256:2222222222222222222222222222222222222222222222222222222222222222", "f.yaml:2: Deployment prod/web, container sidecar"},
			{"registry.example.com/app/job:v2", "f.yaml:17: CronJob nightly, container job"},
			{"busybox", "f.yaml:31: Pod debug, container main"},
			{"busybox:1.36", "f.yaml:31: Pod debug, ephemeralContainer shell"},
			{"postgres:16", "f.yaml:38: StatefulSet db, container db"},
			{"agent:1", "f.yaml:41: List item 0: DaemonSet agent, container agent"},
			{"once:1", "f.yaml:41: List item 1: Job once, container once"},
		}, 1},
		{"keys are exact: Image is no image, Containers no containers", `
kind: Pod
metadata: {name: p}
spec:
  Containers: [{name: a, image: hidden:1}]
  containers: [{name: b, Image: hidden:2, image: shown:1}]
`, []Image{{"shown:1", "f.yaml:2: Pod p, container b"}}, 0},
		{"anchors and merge keys are expanded as kubectl expands them", `
kind: Pod
metadata: {name: p}
spec:
  containers:
    - &base {name: a, image: base:1}
    - <<: *base
      name: b
    - *base
`, []Image{
			{"base:1", "f.yaml:2: Pod p, container a"}, {"base:1", "f.yaml:2: Pod p, container b"}, {"base:1", "f.yaml:2: Pod p, container a"},
		}, 0},
		{"a container without an image is left to its controller", `
kind: Deployment
metadata: {name: d}
spec: {template: {spec: {containers: [{name: a}, {name: b, image: ""}, {name: c, image: null}]}}}
`, nil, 0},
		{"a workload without a pod spec names nothing", "kind: Deployment\nmetadata: {name: d}\n", nil, 0},
		{"documents of only comments and separators", "---\n# nothing\n---\n---\n", nil, 0},
		{"a separator must start its line", `
kind: Pod
metadata:
  name: p
  annotations:
    note: |
      text
      ---
      more
spec:
  containers: [{name: a, image: "a:1"}]
`, []Image{{"a:1", "f.yaml:2: Pod p, container a"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Reader
			if err := r.Read(strings.NewReader(tc.yaml), "f.yaml"); err != nil {
				t.Fatalf("Read() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, r.Images); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if r.Skipped != tc.skipped {
				t.Errorf("skipped %d documents, want %d", r.Skipped, tc.skipped)
			}
		})
	}
}

// TestReadRefuses checks that manifests Kubernetes would read otherwise,
// or not at all, and hostile ones are bad input naming the file and line.
func TestReadRefuses(t *testing.T) {
	laughs := "kind: Pod\nmetadata: {name: p}\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"duplicate key", "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a:1, image: b:1}]\n", `f.yaml:1: not a YAML document kubectl would read`},
		{"duplicate containers", "kind: Pod\nspec:\n  containers: [{image: a:1}]\n  containers: [{image: b:1}]\n", `f.yaml:1: not a YAML document`},
		{"not YAML", "---\nkind: Pod\nspec: [\n", `f.yaml:2: not a YAML document`},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "f.yaml:1: the document has no kind"},
		{"a list document", "- a\n- b\n", "the document is a list, not a Kubernetes object"},
		{"content after a separator", "kind: Service\n--- {kind: Pod, spec: {containers: [{image: a:1}]}}\n", "f.yaml:2: a document separator followed by"},
		{"a second document after a document end", "kind: Service\n...\n--- !!map\n", "f.yaml:3: a document separator"},
		{"a second document after a document end marker", "kind: Service\n...\nkind: Pod\nspec: {containers: [{image: a:1}]}\n", "f.yaml:1: the part between two --- lines holds more than one YAML document"},
		{"an image that is no string", "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 1.5}]}\n", "f.yaml:1: Pod p, container a: image is a number, not a string"},
		{"containers that are no list", "kind: Pod\nmetadata: {name: p}\nspec: {containers: {name: a}}\n", "containers is a mapping, not a list"},
		{"a spec that is no mapping", "kind: Deployment\nmetadata: {name: d}\nspec: {template: [1]}\n", "spec.template is a list, not a mapping"},
		{"an alias bomb", laughs, "not a YAML document kubectl would read"},
		{"a document over the limit", "kind: Pod\nmetadata:\n  annotations:\n    a: \"" + strings.Repeat("x", MaxDocumentSize) + "\"\n", "over keyless's limit of"},
		{"a line over the limit", strings.Repeat("x", MaxDocumentSize+10), "over keyless's limit of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Reader
			start := time.Now()
			err := r.Read(strings.NewReader(tc.yaml), "f.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !input.Is(err) {
				t.Fatalf("Read() error = %v, want bad input containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "manifests: ") {
				t.Errorf("error %q does not name the manifests input", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusing took %v", d)
			}
		})
	}
}

func TestReadBoundsImages(t *testing.T) {
	var b strings.Builder
	b.WriteString("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n")
	for i := range MaxImages + 1 {
		fmt.Fprintf(&b, "    - {image: a:%d}\n", i)
	}
	var r Reader
	err := r.Read(strings.NewReader(b.String()), "f.yaml")
	if err == nil || !strings.Contains(err.Error(), "more than 100000 images") {
		t.Fatalf("Read() error = %v, want the limit of images", err)
	}
}

func TestReadFileNamesTheFile(t *testing.T) {
	var r Reader
	err := r.ReadFile(t.TempDir() + "/missing.yaml")
	if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("ReadFile() error = %v, want bad input naming the file", err)
	}
}
