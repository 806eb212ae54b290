package payload

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSBOMDetect(t *testing.T) {
	spdx := `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app", "packages": []}`
	cdx := `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}`
	for _, tc := range []struct {
		name, doc, typ, format string
	}{
		{"spdx", spdx, SPDXType, "SPDX-2.3"},
		{"spdx 2.2 after a byte order mark", "\ufeff\n " + strings.Replace(spdx, "2.3", "2.2", 1), SPDXType, "SPDX-2.2"},
		{"cyclonedx", cdx, CycloneDXType, "CycloneDX 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SBOMFile(writeTemp(t, "sbom.json", tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]string{tc.typ, tc.format}, [2]string{s.PredicateType(), s.Format()}); diff != "" {
				t.Errorf("type and format mismatch (-want +got):\n%s", diff)
			}
			b, err := s.Statement(digest(t))
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				PredicateType string          `json:"predicateType"`
				Predicate     json.RawMessage `json:"predicate"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decode(t, []byte(strings.TrimPrefix(tc.doc, "\ufeff"))), decode(t, st.Predicate)); diff != "" {
				t.Errorf("the predicate is not the document (-want +got):\n%s", diff)
			}
			if st.PredicateType != tc.typ {
				t.Errorf("predicateType = %q, want %q", st.PredicateType, tc.typ)
			}
		})
	}
}

// TestSBOMRefused: everything but SPDX 2.x and CycloneDX JSON is an input
// error naming sbom, which says what it found and how to fix it.
func TestSBOMRefused(t *testing.T) {
	for _, tc := range []struct {
		name, doc, found string
	}{
		{"plain JSON", `{"name": "app", "version": "1"}`, "neither spdxVersion (SPDX) nor bomFormat (CycloneDX)"},
		{"YAML", "spdxVersion: SPDX-2.3\nname: app\n", "not JSON (YAML or text?)"},
		{"CycloneDX XML", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`, "XML (CycloneDX XML or SPDX RDF)"},
		{"SPDX tag-value", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", "SPDX tag-value"},
		{"SPDX 3", `{"spdxVersion": "SPDX-3.0"}`, `spdxVersion "SPDX-3.0", not SPDX-2.x`},
		{"other bomFormat", `{"bomFormat": "Other"}`, `bomFormat "Other", not CycloneDX`},
		{"both", `{"bomFormat": "CycloneDX", "spdxVersion": "SPDX-2.3"}`, "both SPDX"},
		{"case folded key", `{"SPDXVERSION": "SPDX-2.3"}`, "neither"},
		{"broken JSON", `{"spdxVersion": "SPDX-2.3",`, "not valid JSON"},
		{"array", `[{"spdxVersion": "SPDX-2.3"}]`, "JSON, but not an object"},
		{"empty", "", "is empty"},
		{"hostile version", `{"spdxVersion": "SPDX-3\n::error::x"}`, `"SPDX-3\n::error::x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SBOMFile(writeTemp(t, "sbom", tc.doc))
			var ie *input.Error
			if !asInput(err, &ie) || ie.Input != "sbom" {
				t.Fatalf("SBOMFile = %v, want an input error on sbom", err)
			}
			for _, s := range []string{tc.found, "spdx-json"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestSBOMUnreadable(t *testing.T) {
	_, err := SBOMFile(filepath.Join(t.TempDir(), "missing.json"))
	var ie *input.Error
	if !asInput(err, &ie) || ie.Input != "sbom" || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("SBOMFile = %v, want an input error on sbom naming the file", err)
	}
}

// countingReader is an endless document that counts what is read of it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	r.n += int64(len(p))
	return len(p), nil
}

// TestSBOMTooLarge: a document over MaxDocument is refused having read one
// byte more than the limit, from a stream, and nothing of a file whose
// size says so.
func TestSBOMTooLarge(t *testing.T) {
	r := &countingReader{}
	_, err := NewSBOM(io.MultiReader(strings.NewReader(`{"spdxVersion":"SPDX-2.3","x":"`), r))
	if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "16 MiB") {
		t.Fatalf("NewSBOM = %v, want an input error over the limit", err)
	}
	if max := int64(MaxDocument + 1); r.n > max {
		t.Errorf("read %d bytes of an endless SBOM, want at most %d", r.n, max)
	}

	p := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil { // sparse: 64 GiB of nothing
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	_, err = SBOMFile(p)
	if err == nil || !strings.Contains(err.Error(), "68719476736 bytes") {
		t.Errorf("SBOMFile = %v, want the size refused before reading", err)
	}
}

// TestSBOMAtLimit: a document of exactly MaxDocument bytes is accepted, one
// byte more is not.
func TestSBOMAtLimit(t *testing.T) {
	head, tail := `{"spdxVersion":"SPDX-2.3","pad":"`, `"}`
	doc := head + strings.Repeat("a", MaxDocument-len(head)-len(tail)) + tail
	if _, err := NewSBOM(strings.NewReader(doc)); err != nil {
		t.Errorf("NewSBOM of %d bytes: %v", len(doc), err)
	}
	if _, err := NewSBOM(strings.NewReader(doc + " ")); err == nil {
		t.Errorf("NewSBOM of %d bytes: accepted", len(doc)+1)
	}
}

func asInput(err error, target **input.Error) bool { return errors.As(err, target) }
