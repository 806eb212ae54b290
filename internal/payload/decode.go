package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Decoded is a signed in-toto statement about one image, read back.
type Decoded struct {
	// PredicateType is the statement's predicate type.
	PredicateType string
	// Predicate is the statement's predicate, as signed.
	Predicate json.RawMessage
	// Digest is the subject's digest set (algorithm -> hex).
	Digest map[string]string
	// Annotations are the subject's annotations (an image signature's).
	Annotations map[string]string
}

// Decode parses a signed in-toto statement that must name exactly one
// subject: keyless signs one statement per image, and so does cosign. Keys
// are read exactly, and a statement with a key twice in one object, or two
// keys equal except for case, at any depth, is refused (CheckKeys).
func Decode(b []byte) (*Decoded, error) {
	if err := CheckKeys(b, ""); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return nil, fmt.Errorf("in-toto statement refused: %w", err)
		}
		return nil, fmt.Errorf("parsing in-toto statement: %w", err)
	}
	var st statement
	if err := decodeExact(b, &st, "", false); err != nil {
		return nil, fmt.Errorf("parsing in-toto statement: %w", err)
	}
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("in-toto statement has %d subjects, want one image", len(st.Subject))
	}
	return &Decoded{PredicateType: st.PredicateType, Predicate: st.Predicate, Digest: st.Subject[0].Digest, Annotations: st.Subject[0].Annotations}, nil
}

// Canonical returns JSON j with sorted object keys and no insignificant
// space, numbers kept as written: two predicates that differ only in key
// order or layout have the same canonical form.
func Canonical(j json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(j)) == 0 {
		return []byte("null"), nil
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("parsing predicate: %w", err)
	}
	return json.Marshal(v)
}
