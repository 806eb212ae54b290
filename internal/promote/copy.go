package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tag copies the legacy tag src (whose manifest is desc) to the same tag
// in dst. A tag that dst lacks is copied as it is; one that dst holds with
// other layers (another promotion's, or a verification summary signed
// there) gets the layers it lacks appended, so that no signature on
// either side is lost and none is stored twice.
func (c *Copier) tag(ctx context.Context, src name.Tag, desc v1.Descriptor, dst name.Repository) (Proof, error) {
	target := dst.Tag(src.TagStr())
	p := Proof{Format: Legacy, Location: target.String()}
	have, err := remote.Get(target, c.opts(ctx, c.dst)...)
	if isNotFound(err) {
		srcImg, err := c.image(ctx, src.Context().Digest(desc.Digest.String()))
		if err != nil {
			return p, err
		}
		layers, err := srcImg.Layers()
		if err != nil {
			return p, fmt.Errorf("reading %s: %w", src, err)
		}
		if err := remote.Write(target, srcImg, c.opts(ctx, c.dst)...); err != nil {
			return p, fmt.Errorf("copying %s to %s: %w", src, target, err)
		}
		p.Copied, p.Layers = true, len(layers)
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reading %s: %w", target, err)
	}
	if have.Digest == desc.Digest {
		return p, nil
	}
	srcImg, err := c.image(ctx, src.Context().Digest(desc.Digest.String()))
	if err != nil {
		return p, err
	}
	dstImg, err := have.Image()
	if err != nil {
		return p, fmt.Errorf("reading %s: %w", target, err)
	}
	merged, n, err := merge(dstImg, srcImg)
	if err != nil {
		return p, fmt.Errorf("merging %s into %s: %w", src, target, err)
	}
	if n == 0 {
		return p, nil
	}
	if err := remote.Write(target, merged, c.opts(ctx, c.dst)...); err != nil {
		return p, fmt.Errorf("copying %s to %s: %w", src, target, err)
	}
	p.Copied, p.Layers = true, n
	return p, nil
}

// image reads the image manifest d from the source.
func (c *Copier) image(ctx context.Context, d name.Digest) (v1.Image, error) {
	img, err := remote.Image(d, c.opts(ctx, c.src)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	return img, nil
}

// merge appends to dst the layers of src it lacks (a layer is one
// signature: its blob with its annotations) and says how many.
func merge(dst, src v1.Image) (v1.Image, int, error) {
	dm, err := dst.Manifest()
	if err != nil {
		return nil, 0, err
	}
	sm, err := src.Manifest()
	if err != nil {
		return nil, 0, err
	}
	var add []mutate.Addendum
	for _, l := range sm.Layers {
		if hasLayer(dm.Layers, l) {
			continue
		}
		layer, err := src.LayerByDigest(l.Digest)
		if err != nil {
			return nil, 0, err
		}
		add = append(add, mutate.Addendum{Layer: layer, Annotations: l.Annotations, MediaType: l.MediaType})
	}
	if len(add) == 0 {
		return dst, 0, nil
	}
	img, err := mutate.Append(dst, add...)
	return img, len(add), err
}

// hasLayer reports whether layers hold l: the same blob with the same
// annotations.
func hasLayer(layers []v1.Descriptor, l v1.Descriptor) bool {
	for _, have := range layers {
		if have.Digest == l.Digest && maps.Equal(have.Annotations, l.Annotations) {
			return true
		}
	}
	return false
}

// listed returns the digests of the referrers dst lists for d.
func (c *Copier) listed(ctx context.Context, d name.Digest) (map[string]bool, error) {
	refs, err := referrers(d, c.opts(ctx, c.dst))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range refs {
		out[r.Digest.String()] = true
	}
	return out, nil
}

// referrer copies the referrer a of subject d to dst, unless dst lists
// it for d. A referrer whose manifest dst holds without listing it (a
// promotion stopped between the two) has its manifest put again, which
// lists it: ggcr updates the tag-schema fallback index after the put. A
// listed manifest that refers to another subject is not d's: ok is false.
func (c *Copier) referrer(ctx context.Context, d name.Digest, a Attached, dst name.Repository, listed map[string]bool) (p Proof, ok bool, err error) {
	src := d.Context().Digest(a.Descriptor.Digest.String())
	target := dst.Digest(src.DigestStr())
	p = Proof{Format: a.Format, Location: target.String(), ArtifactType: a.Descriptor.ArtifactType}
	if listed[src.DigestStr()] {
		return p, true, nil
	}
	desc, err := c.get(ctx, src)
	if err != nil {
		return p, false, err
	}
	var m struct {
		Subject *v1.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return p, false, fmt.Errorf("reading referrer %s: %w", src, err)
	}
	if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
		return p, false, nil
	}
	has, err := c.has(ctx, target)
	if err != nil {
		return p, false, err
	}
	if has {
		if err := remote.Put(target, desc, c.opts(ctx, c.dst)...); err != nil {
			return p, false, fmt.Errorf("listing referrer %s: %w", target, err)
		}
	} else if err := c.put(ctx, desc, target); err != nil {
		return p, false, err
	}
	p.Copied = true
	return p, true, nil
}
