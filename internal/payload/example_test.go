package payload_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/payload"
)

func ExampleNewSBOM() {
	sbom, err := payload.NewSBOM(strings.NewReader(`{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sbom.PredicateType(), sbom.Format())

	_, err = payload.NewSBOM(strings.NewReader(`{"name": "app"}`))
	fmt.Println(err)
	// Output:
	// https://cyclonedx.org/bom CycloneDX 1.6
	// sbom: the SBOM is a JSON object with neither spdxVersion (SPDX) nor bomFormat (CycloneDX): give an SPDX 2.x JSON or CycloneDX JSON SBOM (e.g. syft <image> -o spdx-json, or -o cyclonedx-json)
}

func ExampleAttestationType() {
	for _, s := range []string{"slsaprovenance1", "spdxjson", "https://example.com/scan/v1"} {
		t, _ := payload.AttestationType(s)
		fmt.Println(t)
	}
	// Output:
	// https://slsa.dev/provenance/v1
	// https://spdx.dev/Document
	// https://example.com/scan/v1
}

// A Tekton step's provenance, stated about a digest and checked against the
// certificate it was signed with.
func ExampleCheckPredicate() {
	sa := "https://kubernetes.io/namespaces/ci/serviceaccounts/signer"
	p := payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType:          payload.TektonBuildType,
			ExternalParameters: payload.TektonParameters{Namespace: "ci", TaskRun: "build-sign"},
		},
		RunDetails: payload.RunDetails{Builder: payload.Builder{ID: sa}},
	}
	d, err := name.NewDigest("registry.example.com/app@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := p.Statement(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	_ = json.Unmarshal(b, &st)

	fmt.Println(payload.CheckPredicate(payload.ProvenanceType, st.PredicateType, st.Predicate, certificate.Summary{SubjectAlternativeName: sa}))
	fmt.Println(payload.CheckPredicate(payload.ProvenanceType, st.PredicateType, st.Predicate, certificate.Summary{SubjectAlternativeName: "https://kubernetes.io/namespaces/ci/serviceaccounts/other"}))
	// Output:
	// <nil>
	// provenance runDetails.builder.id is "https://kubernetes.io/namespaces/ci/serviceaccounts/signer", but the certificate's SubjectAlternativeName is "https://kubernetes.io/namespaces/ci/serviceaccounts/other"
}
