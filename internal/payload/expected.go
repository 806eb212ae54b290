package payload

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Expected is a kind known only by its predicate type: what keyless verify
// looks for when it gates on an attestation it did not sign itself. It has
// no statement of its own.
type Expected string

var _ Kind = Expected("")

// PredicateType returns the predicate type e stands for.
func (e Expected) PredicateType() string { return string(e) }

// Statement fails: an expected kind is only read and verified, never signed.
func (e Expected) Statement(name.Digest) ([]byte, error) {
	return nil, fmt.Errorf("a %s attestation is only verified here: it has no statement to sign", string(e))
}
