package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry"
)

// Raw is one stored blob as read from the registry, not yet verified.
type Raw struct {
	// Location is where it was read: a referrer manifest or a tag.
	Location string
	// Blob is the layer's content: a bundle, a simple-signing payload or a
	// DSSE envelope.
	Blob []byte
	// Digest is the blob's digest (sha256:…), checked as it was read.
	Digest string
	// Annotations are the layer's annotations (tags only).
	Annotations map[string]string
}

// Media types and annotations of cosign's bundle storage, which cosign v3
// writes and reads.
const (
	// BundleMediaType is a Sigstore bundle v0.3; also the referrer's artifactType.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

	emptyMediaType = "application/vnd.oci.empty.v1+json"
	// AnnotationPredicateType labels a bundle referrer with its statement's
	// predicate type (unsigned: a filter, never trusted).
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	annotationContent       = "dev.sigstore.bundle.content"
	annotationCreated       = "org.opencontainers.image.created"
)

// WriteReferrer stores bundleJSON as a referrer of subject labelled with
// predicateType: blobs first, then the manifest, so a failure never leaves a
// manifest pointing at a missing blob. Registries without the referrers API
// get the tag-schema fallback index (updated by ggcr). It returns
// repository@digest of the referrer manifest. Its blobs go up with the
// default keychain and transport; a run writes through a Store, whose
// uploader shares the run's (WithBlobs).
func WriteReferrer(ctx context.Context, subject registry.Subject, bundleJSON []byte, predicateType string, now time.Time, opts ...remote.Option) (name.Digest, error) {
	return writeReferrer(ctx, defaultBlobs(), subject, bundleJSON, predicateType, now, opts...)
}

func writeReferrer(ctx context.Context, blobs *registry.Blobs, subject registry.Subject, bundleJSON []byte, predicateType string, now time.Time, opts ...remote.Option) (name.Digest, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	repo := subject.Digest.Context()
	layer := static.NewLayer(bundleJSON, BundleMediaType)
	config := static.NewLayer(emptyConfig, emptyMediaType)
	if err := upload(ctx, blobs, repo, blob{emptyConfig, false}, blob{bundleJSON, true}); err != nil {
		return name.Digest{}, err
	}
	ld, err := descriptor(layer)
	if err != nil {
		return name.Digest{}, err
	}
	cd, err := descriptor(config)
	if err != nil {
		return name.Digest{}, err
	}
	m := referrerManifest{
		Manifest: v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        cd,
			Layers:        []v1.Descriptor{ld},
			Subject: &v1.Descriptor{
				MediaType: subject.Descriptor.MediaType,
				Digest:    subject.Descriptor.Digest,
				Size:      subject.Descriptor.Size,
			},
			Annotations: map[string]string{
				annotationCreated:       now.UTC().Format(time.RFC3339),
				annotationContent:       "dsse-envelope",
				AnnotationPredicateType: predicateType,
			},
		},
		ArtifactType: BundleMediaType,
	}
	dst, err := registry.PutManifest(repo, m, opts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("writing bundle referrer %s: %w", dst, err)
	}
	return dst, nil
}

// referrerManifest is an OCI 1.1 image manifest with artifactType, which
// ggcr's v1.Manifest lacks.
type referrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

// ReadReferrers reads the bundle referrers of subject, through the
// referrers API or its tag-schema fallback. With predicateType set, it
// skips referrers labelled with another predicate type. Each bundle is
// capped at maxBlob bytes, and all of them together at registry.MaxReadSize.
func ReadReferrers(ctx context.Context, subject name.Digest, predicateType string, maxBlob int64, opts ...remote.Option) ([]Raw, error) {
	// No artifactType filter: ggcr would apply it after reading the list,
	// and the list must be counted whole.
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	idx, err := remote.Referrers(subject, opts...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	if len(im.Manifests) > registry.MaxReferrers {
		return nil, fmt.Errorf("%s has %d referrers, over keyless's limit of %d: refusing to read them", subject, len(im.Manifests), registry.MaxReferrers)
	}
	var out []Raw
	read, budget := 0, int64(registry.MaxReadSize)
	for _, d := range im.Manifests {
		if d.ArtifactType != BundleMediaType {
			continue
		}
		if pt, ok := d.Annotations[AnnotationPredicateType]; ok && predicateType != "" && pt != predicateType {
			continue
		}
		// Count every manifest fetched, not only the bundles kept, so that
		// a registry cannot make keyless fetch without bound.
		if read++; read > registry.MaxSignatures {
			return nil, fmt.Errorf("%s has more than %d bundle referrers: refusing to read more", subject, registry.MaxSignatures)
		}
		loc := subject.Context().Digest(d.Digest.String())
		img, err := remote.Image(loc, opts...)
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s: %w", loc, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s: %w", loc, err)
		}
		if m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() {
			continue // listed under this subject, but refers to another
		}
		for _, l := range m.Layers {
			if l.MediaType != BundleMediaType {
				continue
			}
			if len(out) == registry.MaxSignatures {
				return nil, fmt.Errorf("%s has more than %d bundles: refusing to read more", subject, registry.MaxSignatures)
			}
			b, err := readBlob(img, l, min(maxBlob, budget))
			if err != nil {
				return nil, fmt.Errorf("reading bundle in %s: %w", loc, err)
			}
			budget -= int64(len(b))
			out = append(out, Raw{Location: loc.String(), Blob: b, Digest: l.Digest.String()})
		}
	}
	return out, nil
}

// TagOf returns the tag cosign stores d's signatures (suffix "sig") or
// attestations ("att") under: sha256-<hex>.<suffix> in the same repository.
func TagOf(d name.Digest, suffix string) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + "." + suffix)
}

// ReadLayers reads the layers of media type mt at tag (at most
// registry.MaxSignatures layers in the image, each of at most maxBlob
// bytes, all of them at most registry.MaxReadSize). keep, when not nil,
// skips the layers whose annotations it refuses before their blob is
// fetched. No tag means none.
func ReadLayers(ctx context.Context, tag name.Tag, mt types.MediaType, maxBlob int64, keep func(map[string]string) bool, opts ...remote.Option) ([]Raw, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
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
	if len(m.Layers) > registry.MaxSignatures {
		return nil, fmt.Errorf("%s has %d signatures, over the limit of %d", tag, len(m.Layers), registry.MaxSignatures)
	}
	var out []Raw
	budget := int64(registry.MaxReadSize)
	for _, l := range m.Layers {
		if l.MediaType != mt || (keep != nil && !keep(l.Annotations)) {
			continue
		}
		b, err := readBlob(img, l, min(maxBlob, budget))
		if err != nil {
			return nil, fmt.Errorf("reading signature in %s: %w", tag, err)
		}
		budget -= int64(len(b))
		out = append(out, Raw{Location: tag.String(), Blob: b, Digest: l.Digest.String(), Annotations: l.Annotations})
	}
	return out, nil
}

// readBlob reads one blob of at most limit bytes, verifying its digest.
func readBlob(img v1.Image, d v1.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte limit", d.Digest, d.Size, limit)
	}
	l, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed() // verifies the digest as it reads
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob %s is over the %d-byte limit", d.Digest, limit)
	}
	return b, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
