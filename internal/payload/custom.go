package payload

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/input"
)

// Custom is a predicate the user wrote (the predicate input), of the type
// the user names (predicate-type): keyless states it as given.
type Custom struct {
	typ       string
	predicate json.RawMessage
}

var _ Kind = Custom{}

// CustomFile reads the predicate at path. A predicate type that is not an
// absolute URI, and a file that cannot be read, is too large, is not a
// JSON object or holds a key twice in one object (or two keys equal except
// for case, which verifiers refuse: CheckKeys), are input errors naming
// predicate-type or predicate.
func CustomFile(predicateType, path string) (Custom, error) {
	if err := checkTypeURI("predicate-type", predicateType); err != nil {
		return Custom{}, err
	}
	b, err := readDocument("predicate", path)
	if err != nil {
		return Custom{}, err
	}
	return newCustom(predicateType, path, b)
}

// NewCustom reads a predicate from r, as CustomFile does.
func NewCustom(predicateType string, r io.Reader) (Custom, error) {
	if err := checkTypeURI("predicate-type", predicateType); err != nil {
		return Custom{}, err
	}
	b, err := readLimited("predicate", "the predicate", r)
	if err != nil {
		return Custom{}, err
	}
	return newCustom(predicateType, "the predicate", b)
}

func newCustom(predicateType, path string, b []byte) (Custom, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		what := "null"
		if err != nil {
			what = err.Error()
		}
		return Custom{}, &input.Error{Input: "predicate", Err: fmt.Errorf("%s is not a JSON object (%s): a predicate is one JSON object, {…}", path, what)}
	}
	if err := CheckKeys(b, "predicate"); err != nil {
		return Custom{}, &input.Error{Input: "predicate", Err: fmt.Errorf("%s is refused, as its statement would be: %w; write each key once, spelled one way", path, err)}
	}
	return Custom{typ: predicateType, predicate: b}, nil
}

// PredicateType is the type the user named.
func (c Custom) PredicateType() string { return c.typ }

// Statement returns the statement of the user's predicate about d.
func (c Custom) Statement(d name.Digest) ([]byte, error) {
	return newSubjectStatement(d.Context().Name(), d, c.typ, c.predicate, nil)
}
