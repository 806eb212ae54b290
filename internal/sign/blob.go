package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/keyless-dev/keyless/internal/payload"
)

// The in-toto statement types a DSSE statement may declare.
const (
	InTotoStatementV1  = "https://in-toto.io/Statement/v1"
	InTotoStatementV01 = "https://in-toto.io/Statement/v0.1"
)

// SignBlob signs data as a message signature and returns the bundle: the
// Signer's one key and certificate, a transparency-log entry in the Rekor
// log selected for the bundle format, and a timestamp from each of its
// timestamp authorities. Nothing is written to a registry.
func (s *Signer) SignBlob(ctx context.Context, data []byte) (*protobundle.Bundle, error) {
	if _, ok := s.services[Bundle]; !ok {
		return nil, errors.New("signing a blob needs the bundle format's services: create the signer with format bundle")
	}
	b, err := s.bundle(ctx, &sgsign.PlainData{Data: data}, Bundle, true)
	if err != nil {
		return nil, fmt.Errorf("signing blob: %w", err)
	}
	return b, nil
}

// SignStatement signs an in-toto statement as a DSSE envelope and returns the
// bundle, with the same key, certificate, log and timestamp authorities as
// SignBlob. The statement must be a JSON in-toto statement (v1 or v0.1) with
// at least one subject that has a digest.
func (s *Signer) SignStatement(ctx context.Context, statement []byte) (*protobundle.Bundle, error) {
	if err := CheckStatement(statement); err != nil {
		return nil, err
	}
	if _, ok := s.services[Bundle]; !ok {
		return nil, errors.New("signing a statement needs the bundle format's services: create the signer with format bundle")
	}
	b, err := s.bundle(ctx, &sgsign.DSSEData{Data: statement, PayloadType: payload.InTotoPayloadType}, Bundle, true)
	if err != nil {
		return nil, fmt.Errorf("signing in-toto statement: %w", err)
	}
	return b, nil
}

// CheckStatement reports whether b is an in-toto statement that can be
// signed: JSON that reads one way (no key twice in one object, no two keys
// equal except for case: payload.CheckKeys), a known _type, and subjects
// that each have a digest.
func CheckStatement(b []byte) error {
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string `json:"predicateType"`
	}
	if err := payload.CheckKeys(b, ""); err != nil {
		var ke *payload.KeyError
		if errors.As(err, &ke) {
			return fmt.Errorf("in-toto statement refused: %w; write each key once, spelled one way", err)
		}
		return fmt.Errorf("parsing in-toto statement: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("parsing in-toto statement: %w", err)
	}
	switch st.Type {
	case InTotoStatementV1, InTotoStatementV01:
	case "":
		return errors.New("in-toto statement has no _type")
	default:
		return fmt.Errorf("in-toto statement has unknown _type %q", st.Type)
	}
	if len(st.Subject) == 0 {
		return errors.New("in-toto statement has no subject")
	}
	for i, sub := range st.Subject {
		if len(sub.Digest) == 0 {
			return fmt.Errorf("in-toto statement subject %d has no digest", i)
		}
	}
	if st.PredicateType == "" {
		return errors.New("in-toto statement has no predicateType")
	}
	return nil
}
