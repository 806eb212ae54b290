package payload

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
)

func TestCustom(t *testing.T) {
	pred := `{"result": "pass", "tool": {"name": "scanner"}}`
	c, err := CustomFile("https://example.com/scan/v1", writeTemp(t, "p.json", pred))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Statement(digest(t))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, []byte(`{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": [{"name": "registry.example.com/octo/app", "digest": {"sha256": "0000000000000000000000000000000000000000000000000000000000000001"}}],
		"predicateType": "https://example.com/scan/v1",
		"predicate": `+pred+`}`))
	if diff := cmp.Diff(want, decode(t, b)); diff != "" {
		t.Errorf("statement mismatch (-want +got):\n%s", diff)
	}
	if c.PredicateType() != "https://example.com/scan/v1" {
		t.Errorf("PredicateType = %q", c.PredicateType())
	}
}

// TestCustomRefused: each bad predicate-type or predicate is an input
// error naming that input.
func TestCustomRefused(t *testing.T) {
	dir := t.TempDir()
	good := writeTemp(t, "p.json", `{"a": 1}`)
	unreadable := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(unreadable, []byte(`{}`), 0o000); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, []byte(`{"a":"`+strings.Repeat("a", MaxDocument)+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ, path, in, msg string
	}{
		{"empty type", "", good, "predicate-type", "is empty"},
		{"relative type", "scan/v1", good, "predicate-type", "not an absolute URI"},
		{"no host", "https:///scan", good, "predicate-type", "not an absolute URI"},
		{"newline in type", "https://example.com/a\nb", good, "predicate-type", `"https://example.com/a\nb" holds control characters`},
		{"space in type", "https://example.com/a b", good, "predicate-type", "control characters or spaces"},
		{"escape in type", "https://example.com/\x1b[31m", good, "predicate-type", "control characters"},
		{"missing file", "https://example.com/p", filepath.Join(dir, "nope.json"), "predicate", "nope.json"},
		{"directory", "https://example.com/p", dir, "predicate", "reading"},
		{"array", "https://example.com/p", writeTemp(t, "a.json", `[1]`), "predicate", "not a JSON object"},
		{"null", "https://example.com/p", writeTemp(t, "n.json", `null`), "predicate", "not a JSON object (null)"},
		{"YAML", "https://example.com/p", writeTemp(t, "y.yaml", "a: 1\n"), "predicate", "not a JSON object"},
		{"too large", "https://example.com/p", huge, "predicate", "over the 16777216-byte (16 MiB) limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CustomFile(tc.typ, tc.path)
			var ie *input.Error
			if !asInput(err, &ie) || ie.Input != tc.in || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("CustomFile = %v, want an input error on %s saying %q", err, tc.in, tc.msg)
			}
		})
	}
	if os.Geteuid() != 0 { // root reads any file
		_, err := CustomFile("https://example.com/p", unreadable)
		var ie *input.Error
		if !asInput(err, &ie) || ie.Input != "predicate" || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("CustomFile(unreadable) = %v, want an input error on predicate", err)
		}
	}
}

func TestNewCustomURN(t *testing.T) {
	c, err := NewCustom("urn:example:scan", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Statement(digest(t))
	var st struct{ PredicateType string }
	if err := json.Unmarshal(b, &st); err != nil || st.PredicateType != "urn:example:scan" {
		t.Errorf("statement %s", b)
	}
}

func TestAttestationType(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"slsaprovenance1", "https://slsa.dev/provenance/v1"},
		{"spdxjson", "https://spdx.dev/Document"},
		{"spdx", "https://spdx.dev/Document"},
		{"cyclonedx", "https://cyclonedx.org/bom"},
		{"slsaprovenance", "https://slsa.dev/provenance/v0.2"},
		{"custom", "https://cosign.sigstore.dev/attestation/v1"},
		{"https://example.com/scan/v1", "https://example.com/scan/v1"},
	} {
		got, err := AttestationType(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("AttestationType(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"slsa", `"slsa" is not a known type: use one of custom, cyclonedx, link, openvex, slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, vuln, or a predicate type URI`},
		{"SPDXJSON", "is not a known type"},
		{"https://example.com/a\nb", "control characters"},
		{"scan:", "not an absolute URI"},
	} {
		_, err := AttestationType(tc.in)
		var ie *input.Error
		if !asInput(err, &ie) || ie.Input != "attestation-type" || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("AttestationType(%q) = %v, want an input error saying %q", tc.in, err, tc.msg)
		}
	}
}
