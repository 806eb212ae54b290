package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Stored is one signature as read from the registry.
type Stored struct {
	// Location is where it was read: a referrer manifest or a .sig tag.
	Location string
	// Blob is the bundle JSON, or the simple-signing payload (legacy).
	Blob []byte
	// Annotations are the layer's annotations (legacy only).
	Annotations map[string]string
}

// ReadBundles reads the bundle referrers of subject, through the referrers
// API or its tag-schema fallback.
func ReadBundles(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]Stored, error) {
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
	if len(im.Manifests) > MaxReferrers {
		return nil, fmt.Errorf("%s has %d referrers, over keyless's limit of %d: refusing to read them", subject, len(im.Manifests), MaxReferrers)
	}
	var out []Stored
	read := 0
	for _, d := range im.Manifests {
		if d.ArtifactType != BundleMediaType {
			continue
		}
		// Count every manifest fetched, not only the bundles kept, so that
		// a registry cannot make keyless fetch without bound.
		if read++; read > MaxSignatures {
			return nil, fmt.Errorf("%s has more than %d bundle referrers: refusing to read more", subject, MaxSignatures)
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
			if len(out) == MaxSignatures {
				return nil, fmt.Errorf("%s has more than %d bundles: refusing to read more", subject, MaxSignatures)
			}
			b, err := readBlob(img, l)
			if err != nil {
				return nil, fmt.Errorf("reading bundle in %s: %w", loc, err)
			}
			out = append(out, Stored{Location: loc.String(), Blob: b})
		}
	}
	return out, nil
}

func readBlob(img v1.Image, d v1.Descriptor) ([]byte, error) {
	if d.Size > MaxBlobSize {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte limit", d.Digest, d.Size, MaxBlobSize)
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
	b, err := io.ReadAll(io.LimitReader(rc, MaxBlobSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBlobSize {
		return nil, fmt.Errorf("blob %s is over the %d-byte limit", d.Digest, MaxBlobSize)
	}
	return b, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
