package policy

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
)

// attestationNames are the short names of the predicate types cosign
// knows; policy-controller's attestations[].name is free text.
var attestationNames = map[string]string{
	"https://slsa.dev/provenance/v0.2":                "slsaprovenance02",
	"https://slsa.dev/provenance/v1":                  "slsaprovenance1",
	"https://spdx.dev/Document":                       "spdxjson",
	"https://cyclonedx.org/bom":                       "cyclonedx",
	"https://cosign.sigstore.dev/attestation/vuln/v1": "vuln",
}

// attestationName is a short name for predicate type pt, the i-th.
func attestationName(pt string, i int) string {
	if n, ok := attestationNames[pt]; ok {
		return n
	}
	return "attestation-" + strconv.Itoa(i+1)
}

// predicateTypes returns types without duplicates, refusing any that is
// not an absolute URI of printable ASCII: the policies carry them as
// values, and the YAML library would alter some control characters.
func predicateTypes(types []string) ([]string, error) {
	var out []string
	for _, pt := range types {
		for _, r := range pt {
			if r <= 0x20 || r >= 0x7f {
				return nil, fmt.Errorf("attestation predicate type %q: want a URI of printable ASCII characters", pt)
			}
		}
		if u, err := url.Parse(pt); err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("attestation predicate type %q: want an absolute URI", pt)
		}
		if !slices.Contains(out, pt) {
			out = append(out, pt)
		}
	}
	return out, nil
}
