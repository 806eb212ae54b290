package registry

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// resolver turns one input into subjects, once per digest.
type resolver struct {
	opts []remote.Option
	seen map[string]bool
	out  []Subject
}

// add appends s unless its digest is already there, and reports whether it did.
func (r *resolver) add(s Subject) bool {
	k := s.Digest.String()
	if r.seen[k] {
		return false
	}
	r.seen[k] = true
	r.out = append(r.out, s)
	return true
}

// resolve reads ref's manifest, adds it and, when recursive and it is an
// index, everything below it.
func (r *resolver) resolve(input string, ref name.Reference, recursive bool) error {
	m, err := fetchManifest(ref, r.opts)
	if err != nil {
		return classify(input, "resolving", err)
	}
	if dr, ok := ref.(name.Digest); ok && dr.DigestStr() != m.desc.Digest.String() {
		return inputError(input, fmt.Errorf("registry returned digest %s", m.desc.Digest))
	}
	s := Subject{Digest: ref.Context().Digest(m.desc.Digest.String()), Input: input, Descriptor: m.desc}
	if !r.add(s) || !recursive || !m.index {
		return nil
	}
	budget := MaxIndexManifests
	return r.expand(input, s, m, 1, &budget)
}

// expand adds the manifests of index m, found at the given depth, and
// recurses into those that are indexes themselves. budget is what is left
// of MaxIndexManifests for this input. The manifests an index lists are
// read at once, and added in its order.
func (r *resolver) expand(input string, index Subject, m *manifest, depth int, budget *int) error {
	if depth > MaxIndexDepth {
		return inputError(input, fmt.Errorf("index %s is nested %d indexes deep, over keyless's limit of %d: refusing to sign or verify part of it (sign the nested indexes one by one, without recursive)", index.Digest, depth, MaxIndexDepth))
	}
	if len(m.children) > *budget {
		return inputError(input, fmt.Errorf("index %s lists more manifests than keyless's limit of %d for one image: refusing to sign or verify part of it", index.Digest, MaxIndexManifests))
	}
	*budget -= len(m.children)
	fetched := make([]*manifest, len(m.children))
	errs := make([]error, len(m.children))
	all(len(m.children), func(i int) {
		if d := index.Digest.Context().Digest(m.children[i].Digest.String()); !r.seen[d.String()] {
			fetched[i], errs[i] = fetchManifest(d, r.opts)
		}
	})
	for i, c := range m.children {
		d := index.Digest.Context().Digest(c.Digest.String())
		if fetched[i] == nil && errs[i] == nil || r.seen[d.String()] {
			continue // seen before the index was read, or above in it
		}
		if err := errs[i]; isNotFound(err) {
			return inputError(input, fmt.Errorf("index %s lists %s, which is not in the registry: push every manifest of the index", index.Digest, d.DigestStr()))
		} else if err != nil {
			return classify(input, fmt.Sprintf("reading %s, listed in index %s of", d.DigestStr(), index.Digest.DigestStr()), err)
		}
		cm := fetched[i]
		s := Subject{Digest: d, Input: input, Descriptor: cm.desc}
		if c.Platform != nil {
			s.Platform = c.Platform.String()
		}
		r.add(s)
		if cm.index {
			if err := r.expand(input, s, cm, depth+1, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

// all calls f(0) … f(n-1) at once and waits: the transport bounds the
// requests in flight.
func all(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// manifest is what keyless reads of a manifest: its descriptor, and its
// children when it is an index.
type manifest struct {
	desc     v1.Descriptor
	index    bool
	children []v1.Descriptor
}

// fetchManifest GETs ref's manifest (LimitTransport caps its size), checks
// that its bytes hash to its digest, and decides from those bytes alone
// whether it is an index.
func fetchManifest(ref name.Reference, opts []remote.Option) (*manifest, error) {
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, err
	}
	d := got.Descriptor
	if err := checkDigest(got.Manifest, d.Digest); err != nil {
		return nil, err
	}
	return parseManifest(got.Manifest, d.Digest, d.MediaType)
}

// checkDigest fails unless raw hashes to want. ggcr checks a manifest read
// by digest, except a schema 1 one, for which it trusts a header.
func checkDigest(raw []byte, want v1.Hash) error {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return err
	}
	h.Write(raw)
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("the registry served a manifest whose digest is %s:%s, not %s", want.Algorithm, got, want)
	}
	return nil
}

// parseManifest reads the media type and children of a manifest from its
// bytes. labeled is the Content-Type the registry sent, used only to name
// an image manifest that does not say its own media type.
func parseManifest(raw []byte, digest v1.Hash, labeled types.MediaType) (*manifest, error) {
	var c struct {
		MediaType types.MediaType  `json:"mediaType"`
		Manifests *[]v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("manifest %s is not JSON: %w", digest, err)
	}
	m := &manifest{
		desc:  v1.Descriptor{MediaType: c.MediaType, Digest: digest, Size: int64(len(raw))},
		index: c.MediaType.IsIndex() || (c.MediaType == "" && c.Manifests != nil),
	}
	switch {
	case m.index && c.MediaType == "":
		m.desc.MediaType = types.OCIImageIndex
	case m.index:
	case c.Manifests != nil:
		return nil, fmt.Errorf("manifest %s says it is %s but lists manifests like an index: refusing to guess which it is", digest, c.MediaType)
	case c.MediaType == "" && !labeled.IsIndex() && labeled != "":
		m.desc.MediaType = labeled
	case c.MediaType == "":
		m.desc.MediaType = types.OCIManifestSchema1
	}
	if m.index && c.Manifests != nil {
		m.children = *c.Manifests
	}
	return m, nil
}

// inputError is an error the user must fix in the reference ref.
func inputError(ref string, err error) error {
	return &InputError{Ref: ref, Err: err}
}
