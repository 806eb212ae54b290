// Package store writes signed payloads to an OCI registry and reads them
// back, one type per storage format: the Sigstore bundle as an OCI 1.1
// referrer (Referrer) and cosign's legacy tags (Tag: .sig for image
// signatures, .att for attestations). "both" is the two side by side.
// What is signed is package payload's concern; signing is package sign's.
package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
)

// Store is one storage format.
type Store interface {
	// Format names the store.
	Format() Format
	// Content returns what to sign for kind k about subject d.
	Content(k payload.Kind, d name.Digest) (Content, error)
	// RekorVersions are the Rekor API versions whose entries the store can
	// hold, preferred first.
	RekorVersions() []uint32
	// Write stores bundle b, signed over c for kind k, with subject, and
	// returns where it was written.
	Write(ctx context.Context, subject registry.Subject, k payload.Kind, c Content, b *protobundle.Bundle) (string, error)
	// Read returns what is stored for subject that may be of kind k: the
	// store filters by the unsigned labels it has, the caller verifies.
	Read(ctx context.Context, subject name.Digest, k payload.Kind) ([]Item, error)
}

// Content is what a store asks to be signed.
type Content struct {
	// Data is an in-toto statement (DSSE) or a blob (a message signature).
	Data []byte
	// DSSE is true when Data is signed as a DSSE envelope of an in-toto
	// statement, false for a message signature over Data.
	DSSE bool
}

// Item is one signed payload read back from a registry.
type Item struct {
	// Location is where it was read: a referrer manifest or a tag.
	Location string
	// Digest is the digest of the stored blob (sha256:…): the bundle, or
	// the legacy layer.
	Digest string
	// Bundle is the stored bundle, or the one rebuilt from a legacy layer.
	Bundle *protobundle.Bundle
	// Blob is the signed blob of a message signature (a simple-signing
	// payload), nil for a DSSE envelope.
	Blob []byte
	// Stamp is an RFC 3161 timestamp kept beside Bundle rather than in
	// it, because it covers Stamped instead of the signature: cosign's .att
	// layer timestamps its whole DSSE envelope. Both are nil when there is
	// none.
	Stamp, Stamped []byte
	// Err says why the item could not be read as a signed payload (it is
	// then a failure reason, not a registry error); Bundle is nil.
	Err error
}

// Format is a way of storing a signature in an OCI registry.
type Format string

// The storage formats.
const (
	// Bundle is a Sigstore bundle v0.3 holding a DSSE-signed in-toto
	// statement, attached as an OCI 1.1 referrer: what cosign v3 writes.
	Bundle Format = "bundle"
	// Legacy is cosign's sha256-<hex>.sig tag with a simple-signing payload
	// (and .att for attestations): what cosign v2, Kyverno type Cosign and
	// policy-controller read.
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

// Option configures a store.
type Option func(*options)

type options struct {
	remote []remote.Option
	blobs  *registry.Blobs
	now    func() time.Time
	root   root.TrustedMaterial
}

// WithRemote sets the registry options (auth, transport).
func WithRemote(opts ...remote.Option) Option { return func(o *options) { o.remote = opts } }

// WithBlobs sets the run's blob uploader, which must authenticate as the
// registry options do; the default uses the default keychain.
func WithBlobs(b *registry.Blobs) Option { return func(o *options) { o.blobs = b } }

// WithClock sets the clock that dates referrers; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRoot sets the trusted root whose Fulcio chain the legacy tags
// record next to the certificate, as cosign does.
func WithRoot(tr root.TrustedMaterial) Option { return func(o *options) { o.root = tr } }

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.blobs == nil {
		o.blobs = defaultBlobs()
	}
	return o
}

// New returns the store of format f.
func New(f Format, opts ...Option) (Store, error) {
	switch f {
	case Bundle:
		return NewReferrer(opts...), nil
	case Legacy:
		return NewTag(opts...), nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// isSignature reports whether k is the image-signature kind.
func isSignature(k payload.Kind) bool { return k.PredicateType() == payload.SignPredicateType }
