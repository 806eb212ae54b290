package payload

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/input"
)

// attestationTypes are cosign's --type names and the predicate types they
// stand for (cosign verify-attestation's PredicateTypeMap).
var attestationTypes = map[string]string{
	"slsaprovenance1":  ProvenanceType,
	"spdx":             SPDXType,
	"spdxjson":         SPDXType,
	"cyclonedx":        CycloneDXType,
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
}

// AttestationType returns the predicate type that an attestation-type
// input names: one of cosign's --type names (slsaprovenance1, spdxjson,
// cyclonedx, …) or a predicate type URI. An unknown name is an input error
// that lists the names.
func AttestationType(s string) (string, error) {
	if t, ok := attestationTypes[s]; ok {
		return t, nil
	}
	if strings.Contains(s, ":") {
		if err := checkTypeURI("attestation-type", s); err != nil {
			return "", err
		}
		return s, nil
	}
	names := slices.Sorted(maps.Keys(attestationTypes))
	return "", &input.Error{Input: "attestation-type", Err: fmt.Errorf("%q is not a known type: use one of %s, or a predicate type URI", s, strings.Join(names, ", "))}
}
