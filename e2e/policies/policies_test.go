// Package policies checks the admission policies keyless generates against
// the Kyverno and sigstore policy-controller CRD schemas, offline: the
// schemas are excerpts of the projects' published CRDs in testdata/.
package policies

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// crdSchema compiles the openAPIV3Schema of the served version of the CRD
// in file into a JSON Schema.
func crdSchema(t *testing.T, file, version string) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != version || !v.Served {
			continue
		}
		// The API server takes apiVersion, kind and metadata (checked on
		// their own) whether or not the schema lists them.
		js := toJSONSchema(v.Schema.OpenAPIV3Schema).(map[string]any)
		props, _ := js["properties"].(map[string]any)
		for k, s := range map[string]any{"apiVersion": map[string]any{"type": "string"}, "kind": map[string]any{"type": "string"}, "metadata": map[string]any{"type": "object"}} {
			if _, ok := props[k]; !ok {
				props[k] = s
			}
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(file, js); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(file)
		if err != nil {
			t.Fatalf("compiling %s: %v", file, err)
		}
		return s
	}
	t.Fatalf("%s: no served version %s", file, version)
	return nil
}

// toJSONSchema converts a structural OpenAPI v3 schema to JSON Schema:
// x-kubernetes-* keys are dropped, nullable adds "null" to the type, and an
// object with properties rejects unknown fields (as the API server's
// strict field validation does) unless it preserves unknown fields.
func toJSONSchema(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toJSONSchema(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			switch {
			case strings.HasPrefix(k, "x-kubernetes-"), k == "nullable", k == "description":
			case k == "properties" || k == "patternProperties":
				props := map[string]any{}
				for name, s := range e.(map[string]any) {
					props[name] = toJSONSchema(s)
				}
				out[k] = props
			default:
				out[k] = toJSONSchema(e)
			}
		}
		if v["nullable"] == true {
			if t, ok := out["type"].(string); ok {
				out["type"] = []any{t, "null"}
			}
		}
		if _, ok := v["properties"]; ok && v["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := v["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	}
	return v
}

// validate checks every document of a YAML stream against its kind's schema.
func validate(t *testing.T, stream []byte, schemas map[string]*jsonschema.Schema) error {
	t.Helper()
	for i, doc := range bytes.Split(stream, []byte("\n---\n")) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		key := fmt.Sprintf("%v/%v", obj["apiVersion"], obj["kind"])
		s, ok := schemas[key]
		if !ok {
			return fmt.Errorf("document %d: no schema for %s", i, key)
		}
		// Round-trip through JSON so numbers are what the schema expects.
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			return err
		}
		if err := s.Validate(inst); err != nil {
			return fmt.Errorf("document %d (%s): %w", i, key, err)
		}
	}
	return nil
}

func schemas(t *testing.T) map[string]*jsonschema.Schema {
	return map[string]*jsonschema.Schema{
		"kyverno.io/v1/ClusterPolicy":                    crdSchema(t, "testdata/kyverno-clusterpolicy-crd.yaml", "v1"),
		"policy.sigstore.dev/v1beta1/ClusterImagePolicy": crdSchema(t, "testdata/clusterimagepolicy-crd.yaml", "v1beta1"),
		"policy.sigstore.dev/v1alpha1/TrustRoot":         crdSchema(t, "testdata/trustroot-crd.yaml", "v1alpha1"),
	}
}

func run(formats ...sign.Format) policy.Input {
	return policy.Input{
		Identity: verify.Policy{
			Identity:         "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			Issuer:           "https://token.actions.githubusercontent.com",
			SourceRepository: "https://github.com/octo/app", SourceRef: "refs/heads/main",
			WorkflowTrigger: "push", RunnerEnvironment: "github-hosted",
		},
		Formats:          formats,
		SignedTimestamps: true,
		Images: []string{
			"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64),
			"registry.example.com/team/app@sha256:" + strings.Repeat("b", 64),
			"ghcr.io/octo/tool@sha256:" + strings.Repeat("c", 64),
		},
	}
}

func TestPoliciesMatchCRDs(t *testing.T) {
	s := schemas(t)
	root, err := os.ReadFile("../../internal/policy/testdata/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	regexpRun := run(sign.Bundle)
	regexpRun.Identity.Identity, regexpRun.Identity.IdentityRegexp = "", `https://github\.com/octo/.*`
	for _, tt := range []struct {
		name string
		run  policy.Input
		opts policy.Options
	}{
		{"public-good legacy", run(sign.Legacy), policy.Options{}},
		{"public-good bundle regexp", regexpRun, policy.Options{Name: "octo"}},
		{"private both", run(sign.Bundle, sign.Legacy), policy.Options{TrustedRootJSON: root}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for kind, f := range map[string]func(policy.Input, policy.Options) ([]byte, error){
				"kyverno": policy.Kyverno, "policy-controller": policy.ClusterImagePolicy,
			} {
				out, err := f(tt.run, tt.opts)
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if err := validate(t, out, s); err != nil {
					t.Errorf("%s: %v\n%s", kind, err, out)
				}
			}
		})
	}
}

// TestBrokenPoliciesFail makes sure the schemas catch what a bad policy
// generator could write.
func TestBrokenPoliciesFail(t *testing.T) {
	s := schemas(t)
	r := run(sign.Legacy)
	kyverno, err := policy.Kyverno(r, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cip, err := policy.ClusterImagePolicy(r, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, policy, old, new string }{
		{"unknown type", string(kyverno), "type: Cosign", "type: Sigstore"},
		{"bad failureAction", string(kyverno), "failureAction: Enforce", "failureAction: Deny"},
		{"misspelt field", string(kyverno), "subject:", "subjct:"},
		{"string for bool", string(kyverno), "required: true", "required: \"yes\""},
		{"rule without match", string(kyverno), "  - match:", "  - matches:"},
		{"cip misspelt field", string(cip), "glob:", "globs:"},
		{"cip identities not a list", string(cip), "identities:\n", "identities: x\n    nothing:\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(tt.policy, tt.old, tt.new, 1)
			if broken == tt.policy {
				t.Fatalf("%q not in policy:\n%s", tt.old, tt.policy)
			}
			if err := validate(t, []byte(broken), s); err == nil {
				t.Errorf("broken policy validated:\n%s", broken)
			}
		})
	}
}
