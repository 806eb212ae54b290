// Package sign makes Sigstore keyless signatures and attestations over
// image digests and stores them in the registry: one ephemeral key and one
// Fulcio certificate for a whole run, a transparency-log entry and optional
// RFC 3161 timestamps per signature. What is signed is package payload's;
// where it is stored, package store's.
package sign

import "github.com/keyless-dev/keyless/internal/store"

// Format is a storage format, defined by package store; the names here
// keep the callers of sign (job, report, the front ends) unchanged.
type Format = store.Format

// The storage formats (see store.Bundle and store.Legacy).
const (
	Bundle = store.Bundle
	Legacy = store.Legacy
)

// ParseFormats parses the signature-format input: bundle, legacy or both.
func ParseFormats(s string) ([]Format, error) { return store.ParseFormats(s) }
