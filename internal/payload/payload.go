// Package payload defines what keyless signs for a subject. Each kind of
// payload — an image signature, SLSA provenance, an SBOM, a custom
// predicate — is one type in one file, and knows its in-toto statement and
// predicate type. Where a statement is stored is package store's concern.
package payload

import (
	"encoding/json"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is one kind of payload, signed for every subject of a run.
type Kind interface {
	// PredicateType is the in-toto predicate type of the kind's statements.
	PredicateType() string
	// Statement returns the in-toto statement of this kind for subject d.
	Statement(d name.Digest) ([]byte, error)
}

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// StatementType is the _type of an in-toto v1 statement.
const StatementType = "https://in-toto.io/Statement/v1"

// statement is an in-toto v1 statement about one image digest.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name        string            `json:"name,omitempty"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// newStatement returns the statement of predicateType about d, with
// annotations on its one subject.
func newStatement(d name.Digest, predicateType string, predicate json.RawMessage, annotations map[string]string) ([]byte, error) {
	return newSubjectStatement("", d, predicateType, predicate, annotations)
}

// newSubjectStatement is newStatement with the subject named (empty: no
// name).
func newSubjectStatement(subjectName string, d name.Digest, predicateType string, predicate json.RawMessage, annotations map[string]string) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(statement{
		Type:          StatementType,
		Subject:       []subject{{Name: subjectName, Digest: map[string]string{alg: hex}, Annotations: annotations}},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
}
