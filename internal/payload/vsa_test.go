package payload

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestVSAStatement(t *testing.T) {
	d, err := name.NewDigest("127.0.0.1:5400/prod/app@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	policy := json.RawMessage(`{"identity":"https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"}`)
	v := VSA{
		Version: "v1.2.3",
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)),
		Policy:  policy,
		Inputs:  []VSAInput{{URI: "127.0.0.1:5400/prod/app@sha256:" + strings.Repeat("cd", 32), Digest: "sha256:" + strings.Repeat("ef", 32)}},
		Levels:  []string{BuildLevel1},
	}
	stmt, err := v.Statement(d)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(stmt, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_type":         StatementType,
		"subject":       []any{map[string]any{"name": "127.0.0.1:5400/prod/app", "digest": map[string]any{"sha256": strings.Repeat("ab", 32)}}},
		"predicateType": VSAType,
		"predicate": map[string]any{
			"verifier":     map[string]any{"id": VerifierID, "version": map[string]any{"keyless": "v1.2.3"}},
			"timeVerified": "2026-01-02T02:04:05Z",
			"resourceUri":  "pkg:oci/app@sha256%3A" + strings.Repeat("ab", 32) + "?repository_url=127.0.0.1%3A5400/prod/app",
			"policy": map[string]any{
				"uri":    "data:application/json;base64,eyJpZGVudGl0eSI6Imh0dHBzOi8vZ2l0aHViLmNvbS9vcmcvcmVwby8uZ2l0aHViL3dvcmtmbG93cy9yZWxlYXNlLnltbEByZWZzL2hlYWRzL21haW4ifQ==",
				"digest": map[string]any{"sha256": PolicyDigest(policy)},
			},
			"inputAttestations":  []any{map[string]any{"uri": v.Inputs[0].URI, "digest": map[string]any{"sha256": strings.Repeat("ef", 32)}}},
			"verificationResult": "PASSED",
			"verifiedLevels":     []any{BuildLevel1},
			"slsaVersion":        "1.0",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
	pred, err := v.Predicate(d)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ReadVSA(pred)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(VSASummary{ResourceURI: OCIPurl(d), PolicyDigest: PolicyDigest(policy), Result: "PASSED", Levels: []string{BuildLevel1}}, sum); diff != "" {
		t.Errorf("ReadVSA (-want +got):\n%s", diff)
	}
}

func TestVSARefuses(t *testing.T) {
	d, _ := name.NewDigest("registry.example/app@sha256:" + strings.Repeat("ab", 32))
	for _, tc := range []struct {
		name string
		v    VSA
		want string
	}{
		{"no policy", VSA{}, "policy is not JSON"},
		{"a policy that is not JSON", VSA{Policy: json.RawMessage(`{`)}, "policy is not JSON"},
		{"an input without a digest", VSA{Policy: json.RawMessage(`{}`), Inputs: []VSAInput{{URI: "x"}}}, "input x has no digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.v.Statement(d); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Statement() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestVSALevelsDefault(t *testing.T) {
	d, _ := name.NewDigest("registry.example/app@sha256:" + strings.Repeat("ab", 32))
	pred, err := VSA{Policy: json.RawMessage(`{}`)}.Predicate(d)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ReadVSA(pred)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{BuildLevel0}, sum.Levels); diff != "" {
		t.Errorf("levels of a summary with none given (-want +got):\n%s", diff)
	}
}

func TestOCIPurl(t *testing.T) {
	hex := strings.Repeat("0f", 32)
	for _, tc := range []struct{ ref, want string }{
		{"ghcr.io/org/app@sha256:" + hex, "pkg:oci/app@sha256%3A" + hex + "?repository_url=ghcr.io/org/app"},
		{"localhost:5000/a/b/c@sha256:" + hex, "pkg:oci/c@sha256%3A" + hex + "?repository_url=localhost%3A5000/a/b/c"},
		{"busybox@sha256:" + hex, "pkg:oci/busybox@sha256%3A" + hex + "?repository_url=index.docker.io/library/busybox"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			d, err := name.NewDigest(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := OCIPurl(d); got != tc.want {
				t.Errorf("OCIPurl(%s) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}
