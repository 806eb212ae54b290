package ci

import (
	"strings"
	"unicode"
)

// OneLine makes text from outside (a registry's error body, a platform
// string from an index, a certificate's SAN) safe to print on one log line:
// control characters become spaces, so it can neither start a new line
// that a CI runner reads as a command (GitHub's ::cmd::) nor move the
// cursor (GitLab's section markers).
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// Lines makes a multi-line message safe to print: each line is OneLine,
// and a line that would start a runner command (::) is indented.
func Lines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
	for i, l := range lines {
		l = OneLine(l)
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			l = "  " + strings.TrimSpace(l)
			l = strings.Replace(l, "::", ": :", 1)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
