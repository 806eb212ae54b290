package payload

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
)

const signedDigest = "registry.example.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestSignatureStatement(t *testing.T) {
	d := name.MustParseReference(signedDigest).(name.Digest)
	b, err := Signature{Annotations: map[string]string{"team": "a"}}.Statement(d)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"predicateType": "https://sigstore.dev/cosign/sign/v1",
		"predicate":     map[string]any{},
		"subject": []any{map[string]any{
			"digest":      map[string]any{"sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
			"annotations": map[string]any{"team": "a"},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement mismatch (-want +got):\n%s", diff)
	}
}

func TestSignatureSimpleSigning(t *testing.T) {
	d := name.MustParseReference(signedDigest).(name.Digest)
	b, err := Signature{}.SimpleSigning(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"type":"cosign container image signature"},"optional":null}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("payload mismatch (-want +got):\n%s", diff)
	}
}
