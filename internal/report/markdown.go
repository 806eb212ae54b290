package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The summary is Markdown read by GitHub (cmark-gfm) and GitLab. Every
// value from outside keyless (image references, registry errors, identities,
// regular expressions, certificate fields, paths) goes through one of the
// functions below, so that none can break a table row, close a code block,
// start an HTML block or become a link.

// mdLine makes s one line: each control character, line or paragraph
// separator and invalid UTF-8 byte becomes its Go escape (\n, \x1b, \u2028).
func mdLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unprintableRune(r, size):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// mdText makes s inert text in a table cell: one line, no cell breaks, no
// HTML, no links, images, emphasis or code spans.
func mdText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unprintableRune(r, utf8.RuneLen(r)) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.NewReplacer(
		`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`,
		"<", "&lt;", ">", "&gt;", "&", "&amp;",
		"[", `\[`, "]", `\]`, "!", `\!`,
	).Replace(s)
}

// mdCode writes s as a code span in a table cell, shown as it is: one line,
// delimited by more backticks than s holds in a row, and each pipe escaped
// so that it does not end the cell. (A table row is split before code spans
// are parsed; only "\|" is unescaped there, so a pipe after an odd number of
// backslashes gets one backslash more than it had: safe, if not exact.)
func mdCode(s string) string {
	s = mdLine(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	backslashes := 0
	for _, r := range s {
		if r == '|' {
			b.WriteString(strings.Repeat(`\`, 1+backslashes%2))
		}
		if r == '\\' {
			backslashes++
		} else {
			backslashes = 0
		}
		b.WriteRune(r)
	}
	s = b.String()
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdFence returns a code fence for a block holding s: three backticks, or
// more than the longest run of backticks in s, so that s cannot close it.
func mdFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

// mdHTML makes s one line of inert text inside an HTML element.
func mdHTML(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;").Replace(mdLine(s))
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
