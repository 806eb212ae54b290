package policy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
)

const (
	slsaV1   = "https://slsa.dev/provenance/v1"
	customPT = "https://example.com/predicate/v1"
)

// TestPolicyAttestations: each predicate type the run attested becomes an
// attestation the policies require, verified with the signature's
// identity; without attestations the policies have none.
func TestPolicyAttestations(t *testing.T) {
	for _, tt := range []struct {
		name     string
		types    []string
		wantCIP  []any
		wantKyvT []string
	}{
		{name: "none"},
		{
			name:  "provenance and custom, duplicated",
			types: []string{slsaV1, customPT, slsaV1},
			wantCIP: []any{
				map[string]any{"name": "slsaprovenance1", "predicateType": slsaV1},
				map[string]any{"name": "attestation-2", "predicateType": customPT},
			},
			wantKyvT: []string{slsaV1, customPT},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := signed(sign.Legacy)
			in.Attestations = tt.types
			o := policy.Options{TrustedRootJSON: trustedRoot(t)}
			c, err := policy.ClusterImagePolicy(in, o)
			if err != nil {
				t.Fatal(err)
			}
			auth := at(t, docs(t, c)[0], "spec", "authorities", 0).(map[string]any)
			var gotCIP []any
			if a, ok := auth["attestations"]; ok {
				gotCIP = a.([]any)
			}
			if diff := cmp.Diff(tt.wantCIP, gotCIP); diff != "" {
				t.Errorf("ClusterImagePolicy attestations (-want +got):\n%s", diff)
			}
			k, err := policy.Kyverno(in, o)
			if err != nil {
				t.Fatal(err)
			}
			vi := at(t, docs(t, k)[0], "spec", "rules", 0, "verifyImages", 0).(map[string]any)
			var gotT []string
			if as, ok := vi["attestations"]; ok {
				for i := range as.([]any) {
					gotT = append(gotT, at(t, as, i, "type").(string))
					// The attestation's attestor is the signature's.
					if diff := cmp.Diff(vi["attestors"], at(t, as, i, "attestors")); diff != "" {
						t.Errorf("attestation %d attestors (-signature +attestation):\n%s", i, diff)
					}
				}
			}
			if diff := cmp.Diff(tt.wantKyvT, gotT); diff != "" {
				t.Errorf("Kyverno attestation types (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyHostileAttestation: a predicate type that is not an absolute
// URI, or that tries to add YAML, is refused by both generators with an
// error naming it.
func TestPolicyHostileAttestation(t *testing.T) {
	for _, pt := range []string{
		"https://example.com/p\n---\nkind: Namespace",
		"https://example.com/p\u0085x",
		"https://example.com/p x",
		"https://example.com/p\u2028kind: Namespace",
		"provenance",
		"",
	} {
		in := signed(sign.Legacy)
		in.Attestations = []string{pt}
		for name, gen := range map[string]func(policy.Input, policy.Options) ([]byte, error){
			"Kyverno": policy.Kyverno, "policy-controller": policy.ClusterImagePolicy,
		} {
			_, err := gen(in, policy.Options{})
			if err == nil || !strings.Contains(err.Error(), "attestation predicate type") {
				t.Errorf("%s %q: err = %v, want the predicate type refused", name, pt, err)
			}
		}
	}
}
