package sign

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/registry"
)

// statement is the in-toto statement cosign v3 signs for an image: the
// image digest as subject and the cosign sign predicate type.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []statementSubj `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     map[string]any  `json:"predicate"`
}

type statementSubj struct {
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Statement returns the in-toto statement that the bundle format signs.
func Statement(d name.Digest, annotations map[string]string) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(statement{
		Type:          "https://in-toto.io/Statement/v1",
		Subject:       []statementSubj{{Digest: map[string]string{alg: hex}, Annotations: annotations}},
		PredicateType: registry.SignPredicateType,
		Predicate:     map[string]any{},
	})
}

// StatementAnnotations returns the annotations a signed in-toto statement
// carries on its subject: what Statement signs for the bundle format.
func StatementAnnotations(payload []byte) (map[string]string, error) {
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("parsing in-toto statement: %w", err)
	}
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("in-toto statement has %d subjects, want one image", len(st.Subject))
	}
	return st.Subject[0].Annotations, nil
}

// SimpleSigning is cosign's legacy payload: the "cosign container image
// signature" that names the repository and the manifest digest.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]string `json:"optional"`
}

// SimpleSigningType is the critical.type of a cosign image signature.
const SimpleSigningType = "cosign container image signature"

// SimpleSigningPayload returns the legacy payload for d.
func SimpleSigningPayload(d name.Digest, annotations map[string]string) ([]byte, error) {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = d.Context().Name()
	p.Critical.Image.DockerManifestDigest = d.DigestStr()
	p.Critical.Type = SimpleSigningType
	if len(annotations) > 0 {
		p.Optional = annotations
	}
	return json.Marshal(p)
}
