package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// celString writes s as a CEL string literal. Outside values reach CEL
// expressions only through it: the literal is single-quoted, and the quote,
// the backslash and every character outside printable ASCII are escaped,
// so no value can end the literal, start another expression or break the
// YAML line it is written on. A value that is not UTF-8 is refused.
func celString(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			b.WriteString(`\'`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// celList writes values as a CEL list of string literals.
func celList(values []string) (string, error) {
	var parts []string
	for _, v := range values {
		s, err := celString(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]", nil
}

// celMatch is the CEL test that value (an expression) is exact, or
// matches the anchored regexp re when exact is empty.
func celMatch(value, exact, re string) (string, error) {
	if re != "" {
		lit, err := celString(re)
		if err != nil {
			return "", err
		}
		return value + ".matches(" + lit + ")", nil
	}
	lit, err := celString(exact)
	if err != nil {
		return "", err
	}
	return value + " == " + lit, nil
}
