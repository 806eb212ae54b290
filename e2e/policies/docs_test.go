package policies

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/docs"
)

// TestDocsPolicyExamples validates the admission policies that the
// documentation shows (Kubernetes examples of the Kyverno and
// policy-controller API groups) against the controllers' CRD schemas, as
// the generated policies are validated.
func TestDocsPolicyExamples(t *testing.T) {
	s := schemas(t)
	files, err := docs.Files("../..")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		ex, err := docs.Examples("../..", f)
		if err != nil {
			t.Error(err)
		}
		for _, e := range ex {
			if e.Kind != docs.Kubernetes {
				continue
			}
			for i, doc := range e.Docs {
				v, _ := e.Values[i].(map[string]any)
				api, _ := v["apiVersion"].(string)
				if !strings.HasPrefix(api, "kyverno.io/") && !strings.HasPrefix(api, "policy.sigstore.dev/") {
					continue
				}
				n++
				if err := validate(t, doc, s); err != nil {
					t.Errorf("%s, document %d: %v", e, i, err)
				}
			}
		}
	}
	if n < 2 {
		t.Errorf("validated %d policies in the documentation, want docs/policies.md's Kyverno and policy-controller examples", n)
	}
}
