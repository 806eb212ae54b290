package job

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
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
	return payload.Provenance{
		BuildDefinition: payload.BuildDefinition{BuildType: payload.GitHubBuildType, ExternalParameters: map[string]string{"run": "1"}},
		RunDetails:      payload.RunDetails{Builder: payload.Builder{ID: cmp.Or(signer.SAN, "https://builder.example")}},
	}, nil
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
			if diff := gocmp.Diff(tc.want, got); diff != "" {
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

// TestSignAttestations signs an image with provenance and a custom
// predicate: one run, one certificate, a signature and two attestations
// written, each labelled with its predicate type; a builder that refuses
// fails the run as an input error before anything is written.
func TestSignAttestations(t *testing.T) {
	custom, err := payload.NewCustom("https://example.com/test/v1", strings.NewReader(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	st := sigstoretest.New(t)
	host := memRegistry(t)
	d := pushImage(t, host, "demo/app")
	b := &builder{}
	c := signConfig(t, st, host)
	c.Provenance, c.Attestations = b, []payload.Kind{custom}
	run, err := Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	s := run.Subjects[0]
	var got []string
	for _, sig := range s.Signatures {
		got = append(got, sig.PredicateType)
	}
	if diff := gocmp.Diff([]string{"", payload.ProvenanceType, "https://example.com/test/v1"}, got); diff != "" {
		t.Errorf("predicate types signed (-want +got):\n%s", diff)
	}
	if s.Err != nil || run.Certificate == nil {
		t.Errorf("subject error %v, certificate %v", s.Err, run.Certificate)
	}
	if n := referrers(t, d.String()); n != 1 {
		t.Errorf("%d signature referrers, want 1 (attestations are labelled apart)", n)
	}

	d2 := pushImage(t, host, "demo/other")
	c = signConfig(t, st, host)
	c.Images = []string{d2.String()}
	c.Provenance = &builder{err: &InputError{Input: "provenance", Err: errors.New("GITHUB_RUN_ID is not set")}}
	if _, err := Sign(context.Background(), c); !IsInput(err) {
		t.Fatalf("Sign() with a refusing builder: error = %v, want an input error", err)
	}
	subjects, err := registry.Resolve(context.Background(), []string{d2.String()}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []payload.Kind{payload.Signature{}, payload.Provenance{}} {
		if items, err := store.NewReferrer().Read(context.Background(), subjects[0].Digest, k); err != nil || len(items) != 0 {
			t.Errorf("a refused run wrote %d %s referrers (%v)", len(items), k.PredicateType(), err)
		}
	}
}
