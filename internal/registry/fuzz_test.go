package registry

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func FuzzSplitRefsParse(f *testing.F) {
	for _, s := range []string{
		"",
		"ghcr.io/o/app:v1",
		"ghcr.io/o/app:v1\nghcr.io/o/b@sha256:" + strings.Repeat("a", 64),
		"# comment\r\nlocalhost:5000/x:y, ,\n",
		"ghcr.io/o/app",
		"UPPER/case:tag",
		"a:b:c",
		"@sha256:",
		"host:99999999999/x:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs := SplitRefs(s)
		for _, r := range refs {
			if r == "" || r != strings.TrimSpace(r) || strings.HasPrefix(r, "#") || strings.ContainsAny(r, ",\r\n") {
				t.Fatalf("SplitRefs(%q) returned %q", s, r)
			}
		}
		parsed, err := Parse(refs)
		if err != nil {
			return
		}
		if len(parsed) != len(refs) {
			t.Fatalf("Parse(%q) = %d references, want %d", refs, len(parsed), len(refs))
		}
		for i, ref := range parsed {
			back, err := name.ParseReference(ref.String(), name.StrictValidation)
			if err != nil {
				t.Fatalf("Parse(%q)[%d] = %q does not parse back: %v", refs[i], i, ref, err)
			}
			if back.String() != ref.String() {
				t.Fatalf("round trip of %q gave %q", ref, back)
			}
			if back.Context().Name() != ref.Context().Name() || back.Identifier() != ref.Identifier() {
				t.Fatalf("round trip of %q changed it to %q", ref, back)
			}
		}
	})
}
