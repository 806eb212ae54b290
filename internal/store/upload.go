package store

import (
	"context"
	"errors"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/keyless-dev/keyless/internal/registry"
)

// emptyConfig is the config blob of every bundle referrer.
var emptyConfig = []byte("{}")

// blob is one blob to upload; fresh when the registry cannot hold it yet
// (a new signature, a signature image's new config), so that nobody asks.
type blob struct {
	data  []byte
	fresh bool
}

// upload puts the blobs in repo side by side, before any manifest that
// names them.
func upload(ctx context.Context, blobs *registry.Blobs, repo name.Repository, bs ...blob) error {
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() { _, errs[i] = blobs.Upload(ctx, repo, b.data, b.fresh) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// defaultBlobs uploads with the default keychain and transport, for the
// callers that write without a store.
func defaultBlobs() *registry.Blobs { return registry.NewBlobs(authn.DefaultKeychain, nil) }

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
