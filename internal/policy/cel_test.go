package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCELString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://github.com/octo/app", `'https://github.com/octo/app'`},
		{`a'b`, `'a\'b'`},
		{`a\'b`, `'a\\\'b'`},
		{`a"b`, `'a"b'`},
		{"a\nb\r\tc", `'a\u000ab\u000d\u0009c'`},
		{"a\u2028b\u0085c\x00d\x7f", `'a\u2028b\u0085c\u0000d\u007f'`},
		{"é🙂", `'\u00e9\U0001f642'`},
		{"') || true || ('", `'\') || true || (\''`},
	} {
		got, err := celString(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("celString(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	if _, err := celString("a\xffb"); err == nil {
		t.Error("invalid UTF-8 was written")
	}
}
