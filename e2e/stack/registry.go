package stack

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushRandomImage pushes a random single-platform image to
// <registry>/<repo>:<tag> and returns its digest reference
// (host:port/repo@sha256:…).
func (s *Stack) PushRandomImage(ctx context.Context, repo, tag string) (string, error) {
	img, err := random.Image(1024, 2)
	if err != nil {
		return "", err
	}
	return s.push(ctx, repo, tag, img)
}

// PushRandomIndex pushes a random image index (multi-platform image) and
// returns its digest reference.
func (s *Stack) PushRandomIndex(ctx context.Context, repo, tag string) (string, error) {
	idx, err := random.Index(1024, 2, 2)
	if err != nil {
		return "", err
	}
	return s.push(ctx, repo, tag, idx)
}

func (s *Stack) push(ctx context.Context, repo, tag string, t remote.Taggable) (string, error) {
	ref, err := name.NewTag(s.Registry+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case v1.Image:
		err = remote.Write(ref, v, remote.WithContext(ctx))
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v, remote.WithContext(ctx))
	default:
		return "", fmt.Errorf("cannot push %T", t)
	}
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := t.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// Bundles returns the Sigstore bundles attached to the image at digestRef
// as OCI referrers (the registry serves them through the tag fallback).
func (s *Stack) Bundles(ctx context.Context, digestRef string) ([][]byte, error) {
	d, err := name.NewDigest(digestRef, name.Insecure)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(d, remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var bundles [][]byte
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle") {
			continue
		}
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), remote.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			b, err := readLayer(l)
			if err != nil {
				return nil, err
			}
			bundles = append(bundles, b)
		}
	}
	return bundles, nil
}

// LegacySignatures returns the layer annotations of the cosign legacy
// signature image (tag sha256-<hex>.sig) of the image at digestRef.
func (s *Stack) LegacySignatures(ctx context.Context, digestRef string) ([]map[string]string, error) {
	d, err := name.NewDigest(digestRef, name.Insecure)
	if err != nil {
		return nil, err
	}
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	img, err := remote.Image(tag, remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, l := range m.Layers {
		out = append(out, l.Annotations)
	}
	return out, nil
}

func readLayer(l v1.Layer) ([]byte, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
