package policy

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
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
// not an absolute URI without control characters or spaces (as the
// predicate-type input requires): the policies carry them as values, and
// the YAML library would alter some control characters.
func predicateTypes(types []string) ([]string, error) {
	var out []string
	for _, pt := range types {
		if strings.ContainsFunc(pt, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return nil, fmt.Errorf("attestation predicate type %q holds control characters or spaces: want an absolute URI", pt)
		}
		if u, err := url.Parse(pt); err != nil || !u.IsAbs() || u.Host == "" && u.Opaque == "" {
			return nil, fmt.Errorf("attestation predicate type %q: want an absolute URI", pt)
		}
		if !slices.Contains(out, pt) {
			out = append(out, pt)
		}
	}
	return out, nil
}
