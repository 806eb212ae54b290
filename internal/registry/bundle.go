package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types and annotations of cosign's bundle storage, which cosign v3
// writes and reads.
const (
	// BundleMediaType is a Sigstore bundle v0.3; also the referrer's artifactType.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the in-toto predicate type cosign uses for a
	// signature over an image digest.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"

	emptyMediaType          = "application/vnd.oci.empty.v1+json"
	annotationContent       = "dev.sigstore.bundle.content"
	annotationPredicateType = "dev.sigstore.bundle.predicateType"
	annotationCreated       = "org.opencontainers.image.created"
)

// referrerManifest is an OCI 1.1 image manifest with artifactType, which
// ggcr's v1.Manifest lacks.
type referrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// WriteBundle stores a bundle as a referrer of subject: blobs first, then the
// manifest, so a failure never leaves a manifest pointing at a missing blob.
// Registries without the referrers API get the tag-schema fallback index
// (updated by ggcr). It returns repository@digest of the referrer manifest.
func WriteBundle(ctx context.Context, subject Subject, bundleJSON []byte, now time.Time, opts ...remote.Option) (name.Digest, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	repo := subject.Digest.Context()
	layer := static.NewLayer(bundleJSON, BundleMediaType)
	config := static.NewLayer([]byte("{}"), emptyMediaType)
	if err := writeLayers(repo, []v1.Layer{config, layer}, opts); err != nil {
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
				annotationPredicateType: SignPredicateType,
			},
		},
		ArtifactType: BundleMediaType,
	}
	dst, err := PutManifest(repo, m, opts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("writing bundle referrer %s: %w", dst, err)
	}
	return dst, nil
}

// PutManifest stores m, marshalled to JSON, as an OCI image manifest in
// repo by its digest, and returns that digest reference (also when the
// write fails, so the error can name it). A manifest with a subject is a
// referrer: ggcr also updates the referrers tag schema where the registry
// has no referrers API.
func PutManifest(repo name.Repository, m any, opts ...remote.Option) (name.Digest, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	dst := repo.Digest(h.String())
	return dst, remote.Put(dst, rawManifest{raw, types.OCIManifestSchema1}, opts...)
}

// writeLayers uploads the blobs side by side.
func writeLayers(repo name.Repository, layers []v1.Layer, opts []remote.Option) error {
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Go(func() {
			if err := remote.WriteLayer(repo, l, opts...); err != nil {
				errs[i] = fmt.Errorf("uploading bundle blob to %s: %w", repo, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func descriptor(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: sz}, nil
}
