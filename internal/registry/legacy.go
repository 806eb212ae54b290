package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media type and annotations of cosign's legacy signature format.
const (
	// SimpleSigningMediaType is the layer media type of a legacy signature.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"

	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	AnnotationBundle      = "dev.sigstore.cosign/bundle"
	AnnotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"
)

// LegacyTag returns the tag cosign stores the signatures of d under:
// sha256-<hex>.sig in the same repository.
func LegacyTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// WriteLegacy appends one signature layer to subject's .sig image, keeping
// the signatures already there. The layer blob is uploaded before the
// manifest, so a failure never leaves the tag pointing at a missing blob.
func WriteLegacy(ctx context.Context, subject name.Digest, payload []byte, annotations map[string]string, opts ...remote.Option) (name.Tag, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	tag := LegacyTag(subject)
	base, err := legacyImage(tag, opts)
	if err != nil {
		return tag, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(payload, SimpleSigningMediaType),
		Annotations: annotations,
		MediaType:   SimpleSigningMediaType,
	})
	if err != nil {
		return tag, fmt.Errorf("building signature image %s: %w", tag, err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return tag, fmt.Errorf("writing signature image %s: %w", tag, err)
	}
	return tag, nil
}

// legacyImage returns the existing .sig image, or an empty one.
func legacyImage(tag name.Tag, opts []remote.Option) (v1.Image, error) {
	img, err := remote.Image(tag, opts...)
	if err == nil {
		return img, nil
	}
	if !isNotFound(err) {
		return nil, fmt.Errorf("reading signature image %s: %w", tag, err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(base, types.OCIConfigJSON), nil
}

// ReadLegacy reads the legacy signatures of subject. No .sig tag means none.
func ReadLegacy(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]Stored, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	tag := LegacyTag(subject)
	img, err := remote.Image(tag, opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading signature image %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading signature image %s: %w", tag, err)
	}
	if len(m.Layers) > MaxSignatures {
		return nil, fmt.Errorf("%s has %d signatures, over the limit of %d", tag, len(m.Layers), MaxSignatures)
	}
	var out []Stored
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType {
			continue
		}
		b, err := readBlob(img, l)
		if err != nil {
			return nil, fmt.Errorf("reading signature in %s: %w", tag, err)
		}
		out = append(out, Stored{Location: tag.String(), Blob: b, Annotations: l.Annotations})
	}
	return out, nil
}
