package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/input"
)

// The predicate types of SBOMs, as cosign attest --type spdxjson and
// --type cyclonedx write them (in-toto's PredicateSPDX and
// PredicateCycloneDX).
const (
	SPDXType      = "https://spdx.dev/Document"
	CycloneDXType = "https://cyclonedx.org/bom"
)

// SBOM is an SPDX 2.x JSON or CycloneDX JSON document, stated as it is: the
// predicate is the document itself.
type SBOM struct {
	typ, format string
	doc         json.RawMessage
}

var _ Kind = SBOM{}

// sbomFix is how to give keyless an SBOM it attaches.
const sbomFix = "give an SPDX 2.x JSON or CycloneDX JSON SBOM (e.g. syft <image> -o spdx-json, or -o cyclonedx-json)"

// SBOMFile reads the SBOM at path and detects its format. A file that
// cannot be read, is over MaxDocument, is not SPDX 2.x or CycloneDX JSON,
// or holds a key twice in one object (or two keys equal except for case:
// CheckKeys), is an input error naming sbom, which says what it found.
func SBOMFile(path string) (SBOM, error) {
	b, err := readDocument("sbom", path)
	if err != nil {
		return SBOM{}, err
	}
	return detectSBOM(path, b)
}

// NewSBOM reads an SBOM from r, as SBOMFile does.
func NewSBOM(r io.Reader) (SBOM, error) {
	b, err := readLimited("sbom", "the SBOM", r)
	if err != nil {
		return SBOM{}, err
	}
	return detectSBOM("the SBOM", b)
}

func detectSBOM(path string, b []byte) (SBOM, error) {
	refuse := func(found string) error {
		return &input.Error{Input: "sbom", Err: fmt.Errorf("%s is %s: %s", path, found, sbomFix)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as some tools write
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil || doc == nil {
		return SBOM{}, refuse(notJSON(b, err))
	}
	if err := CheckKeys(b, "predicate"); err != nil {
		return SBOM{}, &input.Error{Input: "sbom", Err: fmt.Errorf("%s is refused, as its statement would be: %w; write each key once, spelled one way", path, err)}
	}
	spdx, isSPDX := stringField(doc, "spdxVersion")
	format, isCDX := stringField(doc, "bomFormat")
	switch {
	case isSPDX && isCDX:
		return SBOM{}, refuse(fmt.Sprintf("both SPDX (spdxVersion %q) and CycloneDX (bomFormat %q)", spdx, format))
	case isSPDX && strings.HasPrefix(spdx, "SPDX-2."):
		return SBOM{typ: SPDXType, format: spdx, doc: b}, nil
	case isSPDX:
		return SBOM{}, refuse(fmt.Sprintf("SPDX of spdxVersion %q, not SPDX-2.x", spdx))
	case isCDX && format == "CycloneDX":
		v, _ := stringField(doc, "specVersion")
		return SBOM{typ: CycloneDXType, format: strings.TrimSpace("CycloneDX " + v), doc: b}, nil
	case isCDX:
		return SBOM{}, refuse(fmt.Sprintf("a JSON document of bomFormat %q, not CycloneDX", format))
	}
	return SBOM{}, refuse("a JSON object with neither spdxVersion (SPDX) nor bomFormat (CycloneDX)")
}

// stringField is doc's exact key as a string (encoding/json would match
// struct fields case-insensitively).
func stringField(doc map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := doc[key]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw), true
	}
	return s, true
}

// notJSON says what a document that is not a JSON object looks like.
func notJSON(b []byte, err error) string {
	t := bytes.TrimSpace(b)
	switch {
	case len(t) == 0:
		return "empty"
	case t[0] == '<':
		return "XML (CycloneDX XML or SPDX RDF), not JSON"
	case bytes.HasPrefix(t, []byte("SPDXVersion:")):
		return "SPDX tag-value, not JSON"
	case t[0] == '{':
		return fmt.Sprintf("not valid JSON (%v)", err)
	case t[0] == '[' || t[0] == '"' || bytes.HasPrefix(t, []byte("null")):
		return "JSON, but not an object"
	}
	return "not JSON (YAML or text?)"
}

// PredicateType is SPDXType or CycloneDXType.
func (s SBOM) PredicateType() string { return s.typ }

// Format is the document's format and version, e.g. "SPDX-2.3" or
// "CycloneDX 1.5".
func (s SBOM) Format() string { return s.format }

// Statement returns the statement of the SBOM about d.
func (s SBOM) Statement(d name.Digest) ([]byte, error) {
	return newSubjectStatement(d.Context().Name(), d, s.typ, s.doc, nil)
}
