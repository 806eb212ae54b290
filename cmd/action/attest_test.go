package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	inputerr "github.com/keyless-dev/keyless/internal/input"
	"github.com/keyless-dev/keyless/internal/payload"
)

func TestAttestationInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spdx := write("sbom.spdx.json", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app"}`)
	cdx := write("bom.json", `{"bomFormat":"CycloneDX","specVersion":"1.5"}`)
	xml := write("bom.xml", `<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`)
	pred := write("predicate.json", `{"result":"pass"}`)
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(payload.MaxDocument + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const typ = "https://example.com/test/v1"
	for _, tc := range []struct {
		name      string
		inputs    map[string]string
		want      []string // predicate types
		wantInput string   // the input a refusal names
	}{
		{"none", nil, nil, ""},
		{"SPDX", map[string]string{"sbom": spdx}, []string{payload.SPDXType}, ""},
		{"CycloneDX", map[string]string{"sbom": cdx}, []string{payload.CycloneDXType}, ""},
		{"SBOM and custom", map[string]string{"sbom": spdx, "predicate-type": typ, "predicate": pred}, []string{payload.SPDXType, typ}, ""},
		{"unknown SBOM format", map[string]string{"sbom": xml}, nil, "sbom"},
		{"SBOM too large", map[string]string{"sbom": big}, nil, "sbom"},
		{"SBOM missing", map[string]string{"sbom": filepath.Join(dir, "nope.json")}, nil, "sbom"},
		{"predicate unreadable", map[string]string{"predicate-type": typ, "predicate": filepath.Join(dir, "nope.json")}, nil, "predicate"},
		{"predicate-type without predicate", map[string]string{"predicate-type": typ}, nil, "predicate"},
		{"predicate without predicate-type", map[string]string{"predicate": pred}, nil, "predicate-type"},
		{"predicate-type not a URI", map[string]string{"predicate-type": "test", "predicate": pred}, nil, "predicate-type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kinds, err := attestations(settings{get: func(n string) string { return tc.inputs[n] }})
			if tc.wantInput != "" {
				var ie *inputerr.Error
				if !errors.As(err, &ie) || ie.Input != tc.wantInput {
					t.Fatalf("attestations() error = %v, want an input error naming %s", err, tc.wantInput)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range kinds {
				got = append(got, k.PredicateType())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("predicate types (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttestationTypeInput(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"none", "", nil, false},
		{"cosign name", "slsaprovenance1", []string{payload.ProvenanceType}, false},
		{"several, once each", "spdxjson, cyclonedx\nspdx\n", []string{payload.SPDXType, payload.CycloneDXType}, false},
		{"URI", "https://example.com/test/v1", []string{"https://example.com/test/v1"}, false},
		{"unknown name", "slsa", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := attestationTypes(tc.in)
			if tc.wantErr {
				var ie *inputerr.Error
				if !errors.As(err, &ie) || ie.Input != "attestation-type" {
					t.Fatalf("err = %v, want an input error naming attestation-type", err)
				}
				if !strings.Contains(err.Error(), "slsaprovenance1") {
					t.Errorf("error does not list the names: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("predicate types (-want +got):\n%s", diff)
			}
		})
	}
}
