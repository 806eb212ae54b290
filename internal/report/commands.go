package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/sign"
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
	if r.IdentityRegexp != "" {
		fmt.Fprintf(&b, " \\\n  --certificate-identity-regexp %s", shellQuote(r.IdentityRegexp))
	} else {
		fmt.Fprintf(&b, " \\\n  --certificate-identity %s", shellQuote(r.Identity))
	}
	if r.IssuerRegexp != "" {
		fmt.Fprintf(&b, " \\\n  --certificate-oidc-issuer-regexp %s", shellQuote(r.IssuerRegexp))
	} else {
		fmt.Fprintf(&b, " \\\n  --certificate-oidc-issuer %s", shellQuote(r.Issuer))
	}
	return b.String()
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
