package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry"
)

// AppendLayer appends one layer of media type mt to the image at tag,
// keeping the layers already there. The layer blob is uploaded before the
// manifest, so a failure never leaves the tag pointing at a missing blob.
// Blobs go up as WriteReferrer's do.
func AppendLayer(ctx context.Context, tag name.Tag, data []byte, mt types.MediaType, annotations map[string]string, opts ...remote.Option) error {
	return appendLayer(ctx, defaultBlobs(), tag, data, mt, annotations, opts...)
}

func appendLayer(ctx context.Context, blobs *registry.Blobs, tag name.Tag, data []byte, mt types.MediaType, annotations map[string]string, opts ...remote.Option) error {
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	base, err := tagImage(tag, opts)
	if err != nil {
		return err
	}
	layer := static.NewLayer(data, mt)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: annotations, MediaType: mt})
	if err != nil {
		return fmt.Errorf("building signature image %s: %w", tag, err)
	}
	// Only the new layer and the new config are uploaded: the base's
	// layers are in the repository already, and the manifest is new, so
	// remote.Write's existence checks would only cost requests.
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("building signature image %s: %w", tag, err)
	}
	if err := upload(ctx, blobs, tag.Context(), blob{cfg, true}, blob{data, true}); err != nil {
		return err
	}
	if err := remote.Put(tag, img, opts...); err != nil {
		return fmt.Errorf("writing signature image %s: %w", tag, err)
	}
	return nil
}

// tagImage returns the existing image at tag, or an empty one. The
// existing image's manifest is checked before anything else of it is
// read: appending reads its config whole, so a config over
// registry.MaxConfigSize is refused unread, and so is an image that
// already holds registry.MaxSignatures layers, whose next layer no reader
// would read.
func tagImage(tag name.Tag, opts []remote.Option) (v1.Image, error) {
	img, err := remote.Image(tag, opts...)
	if err == nil {
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("reading signature image %s: %w", tag, err)
		}
		if n := len(m.Layers); n >= registry.MaxSignatures {
			return nil, fmt.Errorf("signature image %s already has %d layers, the most keyless reads is %d: refusing to add one; delete the tag or sign in the bundle format", tag, n, registry.MaxSignatures)
		}
		if s := m.Config.Size; s < 0 || s > registry.MaxConfigSize {
			return nil, fmt.Errorf("signature image %s has a config of %d bytes, over keyless's limit of %d (cosign writes about 1 KiB): refusing to read it; delete the tag or sign in the bundle format", tag, s, registry.MaxConfigSize)
		}
		return img, nil
	}
	if !isNotFound(err) {
		return nil, fmt.Errorf("reading signature image %s: %w", tag, err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(base, types.OCIConfigJSON), nil
}
