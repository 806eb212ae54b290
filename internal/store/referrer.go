package store

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
)

// Referrer stores a Sigstore bundle v0.3 holding a DSSE in-toto statement
// as an OCI 1.1 referrer of its image, laid out as cosign sign and cosign
// attest --new-bundle-format lay it out: artifactType the bundle media
// type, the statement's predicate type in dev.sigstore.bundle.predicateType
// and dev.sigstore.bundle.content dsse-envelope. Registries without the
// referrers API get the tag-schema fallback.
type Referrer struct{ o options }

var _ Store = (*Referrer)(nil)

// NewReferrer returns the bundle store.
func NewReferrer(opts ...Option) *Referrer { return &Referrer{o: newOptions(opts)} }

// Format returns Bundle.
func (*Referrer) Format() Format { return Bundle }

// RekorVersions returns 1 and 2: a bundle holds either log's entry.
func (*Referrer) RekorVersions() []uint32 { return []uint32{1, 2} }

// Content returns k's in-toto statement about d, signed as DSSE.
func (*Referrer) Content(k payload.Kind, d name.Digest) (Content, error) {
	stmt, err := k.Statement(d)
	if err != nil {
		return Content{}, fmt.Errorf("building the %s statement for %s: %w", k.PredicateType(), d, err)
	}
	return Content{Data: stmt, DSSE: true}, nil
}

// Write stores b as a referrer of subject.
func (r *Referrer) Write(ctx context.Context, subject registry.Subject, k payload.Kind, _ Content, b *protobundle.Bundle) (string, error) {
	raw, err := protojson.Marshal(b)
	if err != nil {
		return "", err
	}
	defer writes.lock(subject.Digest.String())()
	loc, err := writeReferrer(ctx, r.o.blobs, subject, raw, k.PredicateType(), r.o.now(), r.o.remote...)
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// Read returns the bundle referrers of subject not labelled with another
// predicate type than k's. A referrer whose bundle does not parse is
// returned without a bundle, for the caller to report.
func (r *Referrer) Read(ctx context.Context, subject name.Digest, k payload.Kind) ([]Item, error) {
	raws, err := ReadReferrers(ctx, subject, k.PredicateType(), blobCap(k), r.o.remote...)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(raws))
	for _, raw := range raws {
		var b protobundle.Bundle
		if err := protojson.Unmarshal(raw.Blob, &b); err != nil {
			out = append(out, Item{Location: raw.Location, Digest: raw.Digest, Err: fmt.Errorf("parsing bundle: %w", err)})
			continue
		}
		out = append(out, Item{Location: raw.Location, Digest: raw.Digest, Bundle: &b})
	}
	return out, nil
}

// blobCap is the most bytes read of one stored item of kind k.
func blobCap(k payload.Kind) int64 {
	if isSignature(k) {
		return registry.MaxBlobSize
	}
	return registry.MaxAttestationSize
}
