package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
)

const testDigest = "registry.example.com/octo/app@sha256:0000000000000000000000000000000000000000000000000000000000000001"

func digest(t *testing.T) name.Digest {
	t.Helper()
	d, err := name.NewDigest(testDigest)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// decode reads a statement back as generic JSON.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("statement is not JSON: %v\n%s", err, b)
	}
	return m
}

// TestProvenanceStatement: the statement is an in-toto v1 statement about
// the digest, its subject named by the repository as cosign attest names
// it, and its predicate the provenance field for field.
func TestProvenanceStatement(t *testing.T) {
	var p Provenance
	if err := json.Unmarshal([]byte(attestPredicate), &p); err != nil {
		t.Fatal(err)
	}
	b, err := p.Statement(digest(t))
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, b)
	want := decode(t, []byte(`{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": [{"name": "registry.example.com/octo/app", "digest": {"sha256": "0000000000000000000000000000000000000000000000000000000000000001"}}],
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": `+attestPredicate+`}`))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement mismatch (-want +got):\n%s", diff)
	}
	if p.PredicateType() != ProvenanceType {
		t.Errorf("PredicateType = %q", p.PredicateType())
	}
}

func TestProvenanceIncomplete(t *testing.T) {
	full := Provenance{
		BuildDefinition: BuildDefinition{BuildType: TektonBuildType, ExternalParameters: TektonParameters{}},
		RunDetails:      RunDetails{Builder: Builder{ID: "https://kubernetes.io/namespaces/a/serviceaccounts/b"}},
	}
	for _, tc := range []struct {
		name   string
		change func(*Provenance)
		msg    string
	}{
		{"no build type", func(p *Provenance) { p.BuildDefinition.BuildType = "" }, "no buildType"},
		{"no builder", func(p *Provenance) { p.RunDetails.Builder.ID = "" }, "no builder.id"},
		{"no parameters", func(p *Provenance) { p.BuildDefinition.ExternalParameters = nil }, "no externalParameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := full
			tc.change(&p)
			if _, err := p.Statement(digest(t)); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Statement = %v, want %q", err, tc.msg)
			}
		})
	}
	if _, err := full.Statement(digest(t)); err != nil {
		t.Errorf("complete provenance: %v", err)
	}
}

// TestNewStatementUnnamed: the signature kind's statements keep no subject
// name.
func TestNewStatementUnnamed(t *testing.T) {
	b, err := newStatement(digest(t), "https://example.com/t", json.RawMessage(`{}`), map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"0000000000000000000000000000000000000000000000000000000000000001"},"annotations":{"a":"b"}}],"predicateType":"https://example.com/t","predicate":{}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("statement mismatch (-want +got):\n%s", diff)
	}
}
