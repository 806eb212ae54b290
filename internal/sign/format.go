// Package sign makes Sigstore keyless signatures over image digests and
// stores them in the registry: one ephemeral key and one Fulcio certificate
// for a whole run, a transparency-log entry and optional RFC 3161 timestamps
// per signature.
package sign

import (
	"fmt"
	"strings"
)

// Format is a way of storing a signature in an OCI registry.
type Format string

// The storage formats.
const (
	// Bundle is a Sigstore bundle v0.3 holding a DSSE-signed in-toto
	// statement, attached as an OCI 1.1 referrer: what cosign v3 writes.
	Bundle Format = "bundle"
	// Legacy is cosign's sha256-<hex>.sig tag with a simple-signing payload:
	// what cosign v2, Kyverno type Cosign and policy-controller read.
	Legacy Format = "legacy"
)

// ParseFormats parses the signature-format input: bundle, legacy or both.
func ParseFormats(s string) ([]Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(Bundle):
		return []Format{Bundle}, nil
	case string(Legacy):
		return []Format{Legacy}, nil
	case "both":
		return []Format{Bundle, Legacy}, nil
	}
	return nil, fmt.Errorf("unknown signature format %q: use bundle, legacy or both", s)
}
