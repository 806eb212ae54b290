package store

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/stream"
)

// writeLayers uploads the blobs side by side (ggcr skips those the
// registry has).
func writeLayers(repo name.Repository, layers []v1.Layer, opts []remote.Option) error {
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Go(func() {
			if err := remote.WriteLayer(repo, l, opts...); err != nil {
				errs[i] = fmt.Errorf("uploading blob to %s: %w", repo, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fresh is a blob the registry cannot hold yet (a new signature, a
// signature image's new config): its digest is not told before it is
// read, so ggcr uploads it without asking the registry whether it exists,
// one request fewer. A retried upload, after the read, asks.
type fresh struct {
	v1.Layer
	read atomic.Bool
}

// Digest returns the digest once the blob has been read, and before,
// stream.ErrNotComputed: ggcr's signal of a blob whose digest comes with
// its upload.
func (f *fresh) Digest() (v1.Hash, error) {
	if !f.read.Load() {
		return v1.Hash{}, stream.ErrNotComputed
	}
	return f.Layer.Digest()
}

// Compressed returns the blob.
func (f *fresh) Compressed() (io.ReadCloser, error) {
	f.read.Store(true)
	return f.Layer.Compressed()
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
