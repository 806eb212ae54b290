package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
)

// Media types of cosign's legacy tags.
const (
	// SimpleSigningMediaType is the layer media type of a .sig signature.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEMediaType is the layer media type of an .att attestation: the
	// DSSE envelope's JSON.
	DSSEMediaType types.MediaType = "application/vnd.dsse.envelope.v1+json"
)

// Tag stores cosign v2's legacy layout: an image signature as a
// simple-signing payload in sha256-<hex>.sig, any other kind as a DSSE
// envelope in sha256-<hex>.att, one layer per signature with the
// certificate, chain, Rekor v1 entry (with its signed entry timestamp) and
// RFC 3161 timestamp in cosign's annotations. The Rekor entry is the one
// sigstore-go makes: hashedrekord v0.0.1 for a signature, dsse v0.0.1 for
// an attestation, which is also cosign v2 attest's default entry type.
type Tag struct{ o options }

var _ Store = (*Tag)(nil)

// NewTag returns the legacy store.
func NewTag(opts ...Option) *Tag { return &Tag{o: newOptions(opts)} }

// Format returns Legacy.
func (*Tag) Format() Format { return Legacy }

// RekorVersions returns 1: cosign's annotations record a Rekor v1 entry
// with its signed entry timestamp.
func (*Tag) RekorVersions() []uint32 { return []uint32{1} }

// TagFor returns where the tag store keeps kind k for d.
func TagFor(d name.Digest, k payload.Kind) name.Tag {
	if isSignature(k) {
		return TagOf(d, "sig")
	}
	return TagOf(d, "att")
}

// Content returns the simple-signing payload (signed as a message) for a
// signature, and the in-toto statement (signed as DSSE) for other kinds.
func (*Tag) Content(k payload.Kind, d name.Digest) (Content, error) {
	if isSignature(k) {
		s, ok := k.(interface {
			SimpleSigning(name.Digest) ([]byte, error)
		})
		if !ok {
			return Content{}, fmt.Errorf("kind %T has no simple-signing payload for a .sig tag", k)
		}
		p, err := s.SimpleSigning(d)
		return Content{Data: p}, err
	}
	stmt, err := k.Statement(d)
	if err != nil {
		return Content{}, fmt.Errorf("building the %s statement for %s: %w", k.PredicateType(), d, err)
	}
	return Content{Data: stmt, DSSE: true}, nil
}

// Stamped returns the bytes an RFC 3161 timestamp of b covers in this
// store, as cosign v2 verifies them: the signature of a .sig layer, the
// whole DSSE envelope of an .att layer (cosign stamps an attestation's
// layer, whose signature annotation is empty). For the envelope, b must
// hold its Rekor v1 entry.
func (*Tag) Stamped(c Content, b *protobundle.Bundle) ([]byte, error) {
	if !c.DSSE {
		sig := b.GetMessageSignature().GetSignature()
		if len(sig) == 0 {
			return nil, errors.New("a .sig layer needs a message signature")
		}
		return sig, nil
	}
	return envelopeJSON(b)
}

// StampsSignature reports whether the timestamp of content c covers its
// signature alone: a .sig layer's does, an .att layer's covers the
// envelope.
func (*Tag) StampsSignature(c Content) bool { return !c.DSSE }

// Write appends b as one layer of subject's .sig or .att image.
func (t *Tag) Write(ctx context.Context, subject registry.Subject, k payload.Kind, c Content, b *protobundle.Bundle) (string, error) {
	tag := TagFor(subject.Digest, k)
	defer writes.lock(tag.String())()
	if !c.DSSE {
		ann, err := LegacyAnnotations(b, t.o.root)
		if err != nil {
			return "", err
		}
		return tag.String(), appendLayer(ctx, t.o.blobs, tag, c.Data, SimpleSigningMediaType, ann, t.o.remote...)
	}
	env, err := envelopeJSON(b)
	if err != nil {
		return "", err
	}
	ann, err := cosignAnnotations(b, nil, t.o.root)
	if err != nil {
		return "", err
	}
	ann[AnnotationPredicate] = k.PredicateType()
	return tag.String(), appendLayer(ctx, t.o.blobs, tag, env, DSSEMediaType, ann, t.o.remote...)
}

// envelopeJSON returns the JSON of b's DSSE envelope as sigstore-go sent
// it to Rekor v1: cosign v2 checks that the dsse entry's envelope hash is
// the SHA-256 of the stored layer, so the bytes must be these.
func envelopeJSON(b *protobundle.Bundle) ([]byte, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("an .att layer needs a DSSE envelope")
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	es := b.GetVerificationMaterial().GetTlogEntries()
	if len(es) == 0 {
		return nil, errors.New("an .att layer needs a Rekor v1 entry")
	}
	// Rekor answers the canonical entry (the envelope's hash); a log that
	// echoes the proposed entry holds the envelope itself.
	var body struct {
		Kind string `json:"kind"`
		Spec struct {
			EnvelopeHash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"envelopeHash"`
			ProposedContent struct {
				Envelope string `json:"envelope"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(es[0].GetCanonicalizedBody(), &body); err != nil {
		return nil, fmt.Errorf("reading the Rekor entry: %w", err)
	}
	if body.Kind != "dsse" {
		return raw, nil
	}
	sum := sha256.Sum256(raw)
	h := body.Spec.EnvelopeHash
	if (h.Value != "" && (h.Algorithm != "sha256" || h.Value != hex.EncodeToString(sum[:]))) ||
		(h.Value == "" && body.Spec.ProposedContent.Envelope != string(raw)) {
		return nil, errors.New("the Rekor dsse entry is not of the envelope to store: cosign would refuse it")
	}
	return raw, nil
}

// Read returns the layers of subject's .sig (a signature) or .att (other
// kinds, skipping layers labelled with another predicate type), each with
// its bundle rebuilt from cosign's annotations. A layer that cannot be
// rebuilt is returned with Err.
func (t *Tag) Read(ctx context.Context, subject name.Digest, k payload.Kind) ([]Item, error) {
	tag := TagFor(subject, k)
	if isSignature(k) {
		raws, err := ReadLayers(ctx, tag, SimpleSigningMediaType, registry.MaxBlobSize, nil, t.o.remote...)
		if err != nil {
			return nil, err
		}
		out := make([]Item, 0, len(raws))
		for _, r := range raws {
			b, err := BundleFromLegacy(r.Blob, r.Annotations)
			out = append(out, Item{Location: r.Location, Digest: r.Digest, Bundle: b, Blob: r.Blob, Err: err})
		}
		return out, nil
	}
	want := k.PredicateType()
	keep := func(ann map[string]string) bool {
		pt, ok := ann[AnnotationPredicate]
		return !ok || pt == want
	}
	raws, err := ReadLayers(ctx, tag, DSSEMediaType, registry.MaxAttestationSize, keep, t.o.remote...)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(raws))
	for _, r := range raws {
		b, err := bundleFromAttestation(r.Blob, r.Annotations)
		it := Item{Location: r.Location, Digest: r.Digest, Bundle: b, Err: err}
		// The layer's timestamp covers the envelope, not the signature a
		// bundle's timestamps cover: it is kept beside the bundle.
		if tvd := b.GetVerificationMaterial().GetTimestampVerificationData(); tvd != nil {
			b.VerificationMaterial.TimestampVerificationData = nil
			it.Stamp, it.Stamped = tvd.GetRfc3161Timestamps()[0].GetSignedTimestamp(), r.Blob
		}
		out = append(out, it)
	}
	return out, nil
}

// bundleFromAttestation rebuilds a bundle from an .att layer: its DSSE
// envelope and cosign's annotations.
func bundleFromAttestation(envJSON []byte, ann map[string]string) (*protobundle.Bundle, error) {
	var env protodsse.Envelope
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(envJSON, &env); err != nil {
		return nil, fmt.Errorf("parsing DSSE envelope: %w", err)
	}
	if len(env.GetSignatures()) != 1 {
		return nil, fmt.Errorf("DSSE envelope has %d signatures, want one", len(env.GetSignatures()))
	}
	if s := ann[AnnotationSignature]; s != "" {
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("attestation has an invalid signature annotation")
		}
	}
	vm, err := materialFromCosign(ann)
	if err != nil {
		return nil, err
	}
	return &protobundle.Bundle{
		MediaType:            legacyBundleMediaType,
		VerificationMaterial: vm,
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &env},
	}, nil
}
