package payload

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode"

	"github.com/keyless-dev/keyless/internal/input"
)

// MaxDocument is the largest SBOM or predicate file keyless attaches, in
// bytes: 16 MiB. Registries and Rekor refuse much larger entries, and a
// statement is held in memory once per subject.
const MaxDocument = 16 << 20

// readDocument reads the file at path for the named input, refusing one
// larger than MaxDocument without reading more than that.
func readDocument(in, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &input.Error{Input: in, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxDocument {
		return nil, tooLarge(in, path, fmt.Sprintf("%d bytes", fi.Size()))
	}
	return readLimited(in, path, f)
}

// readLimited reads r to its end, or refuses it past MaxDocument bytes,
// having read one byte more.
func readLimited(in, path string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDocument+1))
	if err != nil {
		return nil, &input.Error{Input: in, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	if len(b) > MaxDocument {
		return nil, tooLarge(in, path, "more than that")
	}
	return b, nil
}

func tooLarge(in, path, size string) error {
	return &input.Error{Input: in, Err: fmt.Errorf("%s is %s, over the %d-byte (16 MiB) limit: attach a smaller document", path, size, MaxDocument)}
}

// checkTypeURI refuses a predicate type that is not an absolute URI, or
// holds control characters or spaces.
func checkTypeURI(in, uri string) error {
	if uri == "" {
		return &input.Error{Input: in, Err: errors.New("is empty: give an absolute URI, e.g. https://example.com/attestation/v1")}
	}
	if strings.ContainsFunc(uri, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return &input.Error{Input: in, Err: fmt.Errorf("%q holds control characters or spaces: give an absolute URI", uri)}
	}
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Host == "" && u.Opaque == "" {
		return &input.Error{Input: in, Err: fmt.Errorf("%q is not an absolute URI: give one with a scheme, e.g. https://example.com/attestation/v1", uri)}
	}
	return nil
}
