package job

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// builder is a ProvenanceSource that records the identity it was given.
type builder struct {
	got oidc.Identity
	err error
}

func (b *builder) Provenance(signer oidc.Identity) (payload.Provenance, error) {
	b.got = signer
	if b.err != nil {
		return payload.Provenance{}, b.err
	}
	return payload.Provenance{RunDetails: payload.RunDetails{Builder: payload.Builder{ID: signer.SAN}}}, nil
}

func TestKinds(t *testing.T) {
	id := oidc.Identity{Kind: oidc.GitHub, Issuer: "https://issuer.example", SAN: "https://github.com/o/r/.github/workflows/b.yml@refs/heads/main"}
	custom, err := payload.NewCustom("https://example.com/test/v1", strings.NewReader(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		provenance bool
		attest     []payload.Kind
		want       []string
	}{
		{"signature only", false, nil, []string{payload.SignPredicateType}},
		{"provenance", true, nil, []string{payload.SignPredicateType, payload.ProvenanceType}},
		{"provenance and custom", true, []payload.Kind{custom}, []string{payload.SignPredicateType, payload.ProvenanceType, "https://example.com/test/v1"}},
		{"custom only", false, []payload.Kind{custom}, []string{payload.SignPredicateType, "https://example.com/test/v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			c := Config{Attestations: tc.attest}
			if tc.provenance {
				c.Provenance = b
			}
			kinds, err := c.kinds(id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range kinds {
				got = append(got, k.PredicateType())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if tc.provenance && b.got != id {
				t.Errorf("provenance built for %+v, want the token's identity %+v", b.got, id)
			}
		})
	}
}

func TestKindsProvenanceErrorIsReturned(t *testing.T) {
	want := &InputError{Input: "provenance", Err: errors.New("GITHUB_RUN_ID is not set")}
	c := Config{Provenance: &builder{err: want}}
	if _, err := c.kinds(oidc.Identity{}); !errors.Is(err, want) || !IsInput(err) {
		t.Fatalf("kinds() error = %v, want the builder's input error", err)
	}
}
