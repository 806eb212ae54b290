package payload

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckKeys(t *testing.T) {
	long := strings.Repeat("k", 100)
	deep := strings.Repeat(`{"a":`, 20) + `{"b":1,"B":2}` + strings.Repeat(`}`, 20)
	for _, tc := range []struct {
		name, doc, root string
		want            *KeyError // nil: accepted
	}{
		{"empty object", `{}`, "", nil},
		{"scalars", `"x"`, "", nil},
		{"distinct keys", `{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, "", nil},
		{"same key in sibling objects", `[{"id":1},{"id":2}]`, "", nil},
		{"same key at two depths", `{"id":{"id":1}}`, "", nil},
		{"keys that differ beyond case", `{"ab":1,"a_b":2,"aB ":3}`, "", nil},
		{"exact duplicate", `{"a":1,"a":2}`, "", &KeyError{Path: "a", Key: "a", Earlier: "a"}},
		{"duplicate through an escape", `{"id":1,"\u0069d":2}`, "", &KeyError{Path: "id", Key: "id", Earlier: "id"}},
		{"case variant", `{"builder":1,"Builder":2}`, "", &KeyError{Path: "Builder", Key: "Builder", Earlier: "builder"}},
		{"case variant first", `{"Builder":1,"builder":2}`, "", &KeyError{Path: "builder", Key: "builder", Earlier: "Builder"}},
		{"all caps", `{"workflow":1,"WORKFLOW":2}`, "", &KeyError{Path: "WORKFLOW", Key: "WORKFLOW", Earlier: "workflow"}},
		{"nested in an object", `{"predicate":{"runDetails":{"builder":{},"bUilder":{}}}}`, "", &KeyError{Path: "predicate.runDetails.bUilder", Key: "bUilder", Earlier: "builder"}},
		{"nested in an array", `{"subject":[{"digest":{}},{"digest":{"sha256":"a","SHA256":"b"}}]}`, "", &KeyError{Path: "subject[1].digest.SHA256", Key: "SHA256", Earlier: "sha256"}},
		{"in an array of arrays", `[[1],[{"x":1,"X":2}]]`, "", &KeyError{Path: "[1][0].X", Key: "X", Earlier: "x"}},
		{"under a root", `{"a":{"k":1,"K":2}}`, "predicate", &KeyError{Path: "predicate.a.K", Key: "K", Earlier: "k"}},
		{"kelvin sign", `{"kind":1,"\u212aind":2}`, "", &KeyError{Path: `["\u212aind"]`, Key: "\u212aind", Earlier: "kind"}},
		{"long s", `{"sha":1,"\u017fha":2}`, "", &KeyError{Path: `["\u017fha"]`, Key: "\u017fha", Earlier: "sha"}},
		{"key with a newline", `{"a\nb":1,"A\nB":2}`, "", &KeyError{Path: `["A\nB"]`, Key: "A\nB", Earlier: "a\nb"}},
		{"long key", `{"` + long + `":1,"` + strings.ToUpper(long) + `":2}`, "", &KeyError{Path: `["` + strings.Repeat("K", 64) + `"…]`, Key: strings.ToUpper(long), Earlier: long}},
		{"deep", deep, "", &KeyError{Path: "a.a.a.a…" + strings.Repeat(".a", 11) + ".B", Key: "B", Earlier: "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKeys([]byte(tc.doc), tc.root)
			var got *KeyError
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("CheckKeys = %v, want a *KeyError or nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CheckKeys (-want +got):\n%s", diff)
			}
			if got != nil && strings.Contains(got.Error(), "\n") {
				t.Errorf("error %q spans lines", got)
			}
		})
	}
}

func TestCheckKeysMessages(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"a":{"b":1,"b":2}}`, "key a.b appears twice in one object"},
		{`{"a":{"b":1,"B":2}}`, `key a.B differs only in case from "b" in the same object`},
	} {
		err := CheckKeys([]byte(tc.doc), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckKeys(%s) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestCheckKeysNotJSON(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"a":}`, `{"a":1}}`, `{"a":1} {"b":2}`, `[1,]`, strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)} {
		err := CheckKeys([]byte(doc), "")
		var ke *KeyError
		if err == nil || errors.As(err, &ke) {
			t.Errorf("CheckKeys(%.40q) = %v, want a parse error", doc, err)
		}
	}
}

// TestDecodeExact: a key that encoding/json would match to a field
// ignoring case, and that is not spelled as the field is, is refused.
func TestDecodeExact(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		strict    bool
		want      string // "" accepted
	}{
		{"exact", `{"workflow":{"ref":"r","repository":"u","path":"p"}}`, true, ""},
		{"case variant of a field", `{"Workflow":{"ref":"r"}}`, false, `key ext.Workflow is not spelled "workflow"`},
		{"case variant of a nested field", `{"workflow":{"REF":"r"}}`, false, `key ext.workflow.REF is not spelled "ref"`},
		{"unknown, strict", `{"inputs":{}}`, true, `unknown field "inputs"`},
		{"unknown, not strict", `{"inputs":{"Workflow":1}}`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p GitHubParameters
			err := decodeExact([]byte(tc.doc), &p, "ext", tc.strict)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("decodeExact: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("decodeExact = %v, want %q", err, tc.want)
			}
		})
	}
	var st statement
	err := decodeExact([]byte(`{"subject":[{"digest":{}},{"Digest":{"sha256":"a"}}]}`), &st, "", false)
	if err == nil || !strings.Contains(err.Error(), `key subject[1].Digest is not spelled "digest"`) {
		t.Errorf("decodeExact of a statement = %v", err)
	}
}
