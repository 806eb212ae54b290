package report

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Command is a copy-paste verification command.
type Command struct {
	// Title says which verifier and format it is for.
	Title string `json:"title"`
	// Line is the shell command.
	Line string `json:"command"`
}

// VerifyCommands returns the cosign v2 and v3 commands that verify image (a
// repository@digest) as this run signed or checked it: for the bundle when
// one was written (both cosign versions prefer it), else for the .sig tag.
// trustedRoot is the path of a private trusted root, or "" for public-good.
func (r *Run) VerifyCommands(image, trustedRoot string) []Command {
	id := r.identityFlags()
	if trustedRoot != "" {
		id += " \\\n  --trusted-root " + shellQuote(trustedRoot)
	}
	img := " \\\n  " + shellQuote(image)
	if !slices.Contains(r.Formats, sign.Bundle) {
		return []Command{
			{"cosign v2 (legacy .sig format)", "cosign verify" + id + img},
			{"cosign v3 (legacy .sig format)", "cosign verify --new-bundle-format=false" + id + img},
		}
	}
	// cosign v2.6 reads the bundle whenever one is attached, and checks
	// RFC 3161 timestamps only when told to.
	v2 := "cosign verify"
	if r.SignedTimestamps {
		v2 += " --use-signed-timestamps"
	}
	return []Command{
		{"cosign v3 (bundle format)", "cosign verify" + id + img},
		{"cosign v2.6 (bundle format)", v2 + id + img},
	}
}

func (r *Run) identityFlags() string {
	var b strings.Builder
	// cosign searches a -regexp pattern anywhere in the value; keyless and
	// its policies match whole values, and so must the commands.
	id := r.Identity
	if id.SANRegexp != "" {
		fmt.Fprintf(&b, " \\\n  --certificate-identity-regexp %s", shellQuote(verify.Anchor(id.SANRegexp)))
	} else {
		fmt.Fprintf(&b, " \\\n  --certificate-identity %s", shellQuote(id.SAN))
	}
	if id.IssuerRegexp != "" {
		fmt.Fprintf(&b, " \\\n  --certificate-oidc-issuer-regexp %s", shellQuote(verify.Anchor(id.IssuerRegexp)))
	} else {
		fmt.Fprintf(&b, " \\\n  --certificate-oidc-issuer %s", shellQuote(id.Issuer))
	}
	return b.String()
}

// shellQuote quotes s as one shell word on one line: in single quotes
// (POSIX), or, when s holds a control character, a line separator or
// invalid UTF-8, in $'…' with every such byte escaped as \xHH (bash, zsh,
// ksh, busybox sh and POSIX.1-2024 shells).
func shellQuote(s string) string {
	if !hasUnprintable(s) {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteByte(s[i])
		case unprintableRune(r, size):
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteString("'")
	return b.String()
}

// hasUnprintable reports whether s holds a control character, a line or
// paragraph separator or invalid UTF-8.
func hasUnprintable(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unprintableRune(r, size) {
			return true
		}
		i += size
	}
	return false
}

func unprintableRune(r rune, size int) bool {
	return (r == utf8.RuneError && size == 1) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
