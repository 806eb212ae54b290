// Package promote copies an image digest to another repository, of the
// same registry or another one, with everything that proves it: the
// manifest (an index with every manifest below it) and its blobs, cosign's
// legacy .sig, .att and .sbom tags, and every OCI referrer — Sigstore
// bundles, SBOMs, other signatures — whose referrers tag-schema fallback
// ggcr keeps up where the destination has no referrers API (Attachments is
// the one list). The destination digest is the source digest. Blobs are
// mounted across repositories of one registry. Everything is looked for at
// the destination by digest before it is written, so that a re-run copies
// nothing twice and completes a promotion that stopped partway.
package promote

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Copier copies from a source registry to a destination, each with its own
// registry options (credentials, transport).
type Copier struct {
	src, dst []remote.Option
}

// New returns a Copier that reads with src and writes with dst.
func New(src, dst []remote.Option) *Copier {
	return &Copier{src: slices.Clip(src), dst: slices.Clip(dst)}
}

// Copied is what a promotion of one digest did at the destination.
type Copied struct {
	// Manifest is true when the image's manifest was written; false when
	// it was there already (or the image was copied with its index).
	Manifest bool `json:"manifest"`
	// Proofs are the things that prove the digest, each copied or found.
	Proofs []Proof `json:"proofs,omitempty"`
}

// Proof is one thing that proves a digest, at the destination.
type Proof struct {
	// Format is how it is stored.
	Format Format `json:"format"`
	// Location is where it is at the destination: repository:tag for a
	// legacy tag, repository@digest for a referrer.
	Location string `json:"location"`
	// ArtifactType is a referrer's artifact type.
	ArtifactType string `json:"artifactType,omitempty"`
	// Layers is how many of a legacy tag's layers (one per signature) were
	// copied: all of them for a new tag, those missing for one that was
	// there.
	Layers int `json:"layers,omitempty"`
	// Copied is false when all of it was at the destination already.
	Copied bool `json:"copied"`
}

// Image copies the manifest of d, with every manifest below an index and
// every blob, to the same digest in dst, unless dst holds it. It reports
// whether it wrote it.
func (c *Copier) Image(ctx context.Context, d name.Digest, dst name.Repository) (bool, error) {
	target := dst.Digest(d.DigestStr())
	if ok, err := c.has(ctx, target); err != nil || ok {
		return false, err
	}
	desc, err := c.get(ctx, d)
	if err != nil {
		return false, err
	}
	if err := c.put(ctx, desc, target); err != nil {
		return false, err
	}
	return true, nil
}

// Proofs copies everything that proves d (Attachments), and what proves
// its referrers, to the same digest in dst. Each is looked for at dst
// first: only what is missing is written. On an error, the proofs copied
// or found before it are returned with it.
func (c *Copier) Proofs(ctx context.Context, d name.Digest, dst name.Repository) ([]Proof, error) {
	budget := maxProofs
	var out []Proof
	err := c.proofs(ctx, d, dst, 1, &budget, &out)
	return out, err
}

// maxProofs bounds what one digest's promotion copies, referrers of
// referrers included.
const maxProofs = 1024

func (c *Copier) proofs(ctx context.Context, d name.Digest, dst name.Repository, depth int, budget *int, out *[]Proof) error {
	atts, err := Attachments(ctx, d, c.src...)
	if err != nil {
		return err
	}
	if *budget -= len(atts); *budget < 0 {
		return fmt.Errorf("%s has more than %d signatures, attestations and referrers: refusing to copy part of them", d, maxProofs)
	}
	var listed map[string]bool // the referrers dst lists for d, read once
	for _, a := range atts {
		if a.Format == Legacy {
			p, err := c.tag(ctx, d.Context().Tag(a.Tag), a.Descriptor, dst)
			if err != nil {
				return err
			}
			*out = append(*out, p)
			continue
		}
		if listed == nil {
			if listed, err = c.listed(ctx, dst.Digest(d.DigestStr())); err != nil {
				return err
			}
		}
		p, ok, err := c.referrer(ctx, d, a, dst, listed)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		*out = append(*out, p)
		if depth < maxDepth {
			if err := c.proofs(ctx, d.Context().Digest(a.Descriptor.Digest.String()), dst, depth+1, budget, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// has reports whether the registry holds the manifest d.
func (c *Copier) has(ctx context.Context, d name.Digest) (bool, error) {
	_, err := remote.Head(d, c.opts(ctx, c.dst)...)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for %s: %w", d, err)
	}
	return true, nil
}

// get reads the manifest d from the source, checking its digest.
func (c *Copier) get(ctx context.Context, d name.Digest) (*remote.Descriptor, error) {
	desc, err := remote.Get(d, c.opts(ctx, c.src)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	if desc.Digest.String() != d.DigestStr() {
		return nil, fmt.Errorf("the registry served %s for %s", desc.Digest, d)
	}
	return desc, nil
}

// put copies the source manifest desc, with what it names, to target:
// ggcr writes each blob and child manifest that target's repository
// lacks, mounting blobs from the source repository within one registry,
// then the manifest.
func (c *Copier) put(ctx context.Context, desc *remote.Descriptor, target name.Reference) error {
	var err error
	if desc.MediaType.IsIndex() {
		var idx v1.ImageIndex
		if idx, err = desc.ImageIndex(); err == nil {
			err = remote.WriteIndex(target, idx, c.opts(ctx, c.dst)...)
		}
	} else {
		var img v1.Image
		if img, err = desc.Image(); err == nil {
			err = remote.Write(target, img, c.opts(ctx, c.dst)...)
		}
	}
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", desc.Digest, target, err)
	}
	return nil
}

// opts are base with ctx.
func (c *Copier) opts(ctx context.Context, base []remote.Option) []remote.Option {
	return append(slices.Clip(base), remote.WithContext(ctx))
}
