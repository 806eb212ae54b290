package report

import (
	"fmt"
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

// VerifyCommands returns the cosign commands that verify image (a
// repository@digest) as this run signed or checked it: cosign v3 for the
// bundle format, v2 for the legacy format. trustedRoot is the path of a
// private trusted root, or "" for the public-good instance.
func (r *Run) VerifyCommands(image, trustedRoot string) []Command {
	id := r.identityFlags()
	if trustedRoot != "" {
		id += " \\\n  --trusted-root " + shellQuote(trustedRoot)
	}
	var out []Command
	for _, f := range r.Formats {
		switch f {
		case sign.Bundle:
			out = append(out,
				Command{"cosign v3 (bundle format)", "cosign verify" + id + " \\\n  " + shellQuote(image)},
				Command{"cosign v2.6 (bundle format)", "cosign verify --new-bundle-format --use-signed-timestamps" + id + " \\\n  " + shellQuote(image)})
		case sign.Legacy:
			out = append(out,
				Command{"cosign v2 (legacy .sig format)", "cosign verify" + id + " \\\n  " + shellQuote(image)},
				Command{"cosign v3 (legacy .sig format)", "cosign verify --new-bundle-format=false" + id + " \\\n  " + shellQuote(image)})
		}
	}
	return out
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
