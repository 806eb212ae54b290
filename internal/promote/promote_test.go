package promote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
	"github.com/keyless-dev/keyless/internal/store"
)

// counted is an in-process registry that counts the writes it is sent.
// (Its blobs are shared by every repository, so it never needs a mount:
// the e2e tests check mounts against the registry users run.)
type counted struct {
	host   string
	writes atomic.Int64
}

func newRegistry(t *testing.T, referrers bool) *counted {
	t.Helper()
	c := &counted{}
	h := registrytest.Handler(referrers)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.writes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.host = strings.TrimPrefix(srv.URL, "http://")
	return c
}

// signed is an image with something of every format attached.
type signed struct {
	digest name.Digest
	// sbom is the SBOM referrer, itself signed by a bundle referrer.
	sbom name.Digest
}

// pushSigned pushes an image (an index when index is true) to ref and
// attaches a .sig and an .att layer, a bundle referrer, an SBOM referrer,
// and a bundle referrer of that SBOM.
func pushSigned(t *testing.T, ref string, index bool) signed {
	t.Helper()
	ctx := context.Background()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var h v1.Hash
	if index {
		idx, err := random.Index(64, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(tag, idx); err != nil {
			t.Fatal(err)
		}
		h, _ = idx.Digest()
	} else {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		h, _ = img.Digest()
	}
	subs, err := registry.Resolve(ctx, []string{tag.Context().Digest(h.String()).String()}, false)
	if err != nil {
		t.Fatal(err)
	}
	s := subs[0]
	if err := store.AppendLayer(ctx, store.TagOf(s.Digest, "sig"), []byte(`{"sig":1}`), store.SimpleSigningMediaType, map[string]string{"n": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := store.AppendLayer(ctx, store.TagOf(s.Digest, "att"), []byte(`{"att":1}`), store.DSSEMediaType, map[string]string{"predicateType": payload.ProvenanceType}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteReferrer(ctx, s, []byte(`{"bundle":1}`), payload.SignPredicateType, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	sbom := attach(t, s, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	sbomSubs, err := registry.Resolve(ctx, []string{sbom.String()}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteReferrer(ctx, sbomSubs[0], []byte(`{"bundle":"sbom"}`), payload.SignPredicateType, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	return signed{digest: s.Digest, sbom: sbom}
}

// attach stores blob as a referrer of s with artifactType.
func attach(t *testing.T, s registry.Subject, artifactType string, blob []byte) name.Digest {
	t.Helper()
	repo := s.Digest.Context()
	layer := static.NewLayer(blob, types.MediaType(artifactType))
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	var descs []v1.Descriptor
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		descs = append(descs, v1.Descriptor{MediaType: mt, Digest: d, Size: n})
	}
	d, err := registry.PutManifest(repo, v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config: descs[0], Layers: descs[1:],
		Subject: &v1.Descriptor{MediaType: s.Descriptor.MediaType, Digest: s.Descriptor.Digest, Size: s.Descriptor.Size},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// copyAll promotes d to dst as a run does: the image, then its proofs.
func copyAll(t *testing.T, d name.Digest, dst name.Repository) Copied {
	t.Helper()
	c := New(nil, nil)
	var out Copied
	var err error
	if out.Manifest, err = c.Image(context.Background(), d, dst); err != nil {
		t.Fatalf("Image: %v", err)
	}
	if out.Proofs, err = c.Proofs(context.Background(), d, dst); err != nil {
		t.Fatalf("Proofs: %v", err)
	}
	return out
}

// digestOf is the digest the registry serves for ref, "" when none.
func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if isNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return desc.Digest.String()
}

// listing is the digests of the referrers of d, sorted.
func listing(t *testing.T, d name.Digest) []string {
	t.Helper()
	refs, err := referrers(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		out = append(out, r.Digest.String())
	}
	slices.Sort(out)
	return out
}

func TestCopyEverythingThatProvesADigest(t *testing.T) {
	for _, tc := range []struct {
		name          string
		referrers     bool
		otherRegistry bool
		index         bool
	}{
		{"two repositories of one registry, tag-schema fallback", false, false, false},
		{"two repositories of one registry, referrers API", true, false, false},
		{"two registries", false, true, false},
		{"an index with every child, two registries", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newRegistry(t, tc.referrers)
			dstReg := src
			if tc.otherRegistry {
				dstReg = newRegistry(t, tc.referrers)
			}
			s := pushSigned(t, src.host+"/dev/app:v1", tc.index)
			dst, err := name.NewRepository(dstReg.host + "/prod/app")
			if err != nil {
				t.Fatal(err)
			}
			got := copyAll(t, s.digest, dst)

			at := func(d name.Digest) name.Digest { return dst.Digest(d.DigestStr()) }
			if diff := cmp.Diff(s.digest.DigestStr(), digestOf(t, at(s.digest).String())); diff != "" {
				t.Errorf("destination digest (-source +destination):\n%s", diff)
			}
			if tc.index {
				im, err := remote.Index(at(s.digest))
				if err != nil {
					t.Fatal(err)
				}
				m, _ := im.IndexManifest()
				for _, c := range m.Manifests {
					if digestOf(t, dst.Digest(c.Digest.String()).String()) == "" {
						t.Errorf("child %s of the index is missing at the destination", c.Digest)
					}
				}
			}
			for _, suffix := range []string{"sig", "att"} {
				from, to := store.TagOf(s.digest, suffix), store.TagOf(at(s.digest), suffix)
				if diff := cmp.Diff(digestOf(t, from.String()), digestOf(t, to.String())); diff != "" {
					t.Errorf(".%s tag (-source +destination):\n%s", suffix, diff)
				}
			}
			for _, d := range []name.Digest{s.digest, s.sbom} {
				if diff := cmp.Diff(listing(t, d), listing(t, at(d))); diff != "" {
					t.Errorf("referrers of %s (-source +destination):\n%s", d.DigestStr(), diff)
				}
			}
			var formats []Format
			for _, p := range got.Proofs {
				formats = append(formats, p.Format)
				if !p.Copied {
					t.Errorf("%s: not copied by the first promotion", p.Location)
				}
			}
			slices.Sort(formats)
			if diff := cmp.Diff([]Format{Bundle, Bundle, Legacy, Legacy, SBOM}, formats); diff != "" {
				t.Errorf("formats copied (-want +got):\n%s", diff)
			}
			if !got.Manifest {
				t.Error("Manifest = false for an image the destination lacked")
			}

			// A re-run finds everything there and writes nothing.
			before := dstReg.writes.Load()
			again := copyAll(t, s.digest, dst)
			if n := dstReg.writes.Load() - before; n != 0 {
				t.Errorf("a re-run made %d writes, want none", n)
			}
			if again.Manifest || slices.ContainsFunc(again.Proofs, func(p Proof) bool { return p.Copied }) {
				t.Errorf("a re-run copied %+v, want nothing", again)
			}
		})
	}
}

// TestCopyMergesLegacyTags promotes into a destination whose .att tag
// holds a signature the source lacks (a verification summary signed
// there): the source's layers are appended, none of either side is lost,
// and a re-run appends nothing.
func TestCopyMergesLegacyTags(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t, false)
	s := pushSigned(t, r.host+"/dev/app:v1", false)
	dst, _ := name.NewRepository(r.host + "/prod/app")
	c := New(nil, nil)
	if _, err := c.Image(ctx, s.digest, dst); err != nil {
		t.Fatal(err)
	}
	target := store.TagOf(dst.Digest(s.digest.DigestStr()), "att")
	vsa := map[string]string{"predicateType": payload.VSAType}
	if err := store.AppendLayer(ctx, target, []byte(`{"vsa":1}`), store.DSSEMediaType, vsa); err != nil {
		t.Fatal(err)
	}
	layers := func() []string {
		raws, err := store.ReadLayers(ctx, target, store.DSSEMediaType, registry.MaxBlobSize, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, raw := range raws {
			out = append(out, string(raw.Blob))
		}
		return out
	}
	proofs, err := c.Proofs(ctx, s.digest, dst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"vsa":1}`, `{"att":1}`}, layers()); diff != "" {
		t.Errorf(".att layers (-want +got):\n%s", diff)
	}
	i := slices.IndexFunc(proofs, func(p Proof) bool { return p.Location == target.String() })
	if i < 0 || !proofs[i].Copied || proofs[i].Layers != 1 {
		t.Errorf("proofs = %+v, want the .att tag with 1 layer copied", proofs)
	}
	if _, err := c.Proofs(ctx, s.digest, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"vsa":1}`, `{"att":1}`}, layers()); diff != "" {
		t.Errorf(".att layers after a re-run (-want +got):\n%s", diff)
	}
}

// TestCopyListsAReferrerItsManifestAlreadyHad completes a promotion that
// stopped after a referrer's manifest was written and before the
// tag-schema fallback index listed it.
func TestCopyListsAReferrerItsManifestAlreadyHad(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t, false)
	s := pushSigned(t, r.host+"/dev/app:v1", false)
	dst, _ := name.NewRepository(r.host + "/prod/app")
	copyAll(t, s.digest, dst)
	fallback := dst.Tag(strings.Replace(s.digest.DigestStr(), ":", "-", 1))
	if err := remote.Delete(fallback); err != nil {
		t.Fatal(err)
	}
	if got := listing(t, dst.Digest(s.digest.DigestStr())); len(got) != 0 {
		t.Fatalf("listing after deleting the fallback index = %v, want none", got)
	}
	if _, err := New(nil, nil).Proofs(ctx, s.digest, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(listing(t, s.digest), listing(t, dst.Digest(s.digest.DigestStr()))); diff != "" {
		t.Errorf("referrers (-source +destination):\n%s", diff)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		artifactType string
		want         Format
	}{
		{store.BundleMediaType, Bundle},
		{"application/vnd.dev.sigstore.bundle.v0.4+json", Bundle},
		{"application/spdx+json", SBOM},
		{"application/vnd.cyclonedx+json", SBOM},
		{"application/vnd.syft+json", SBOM},
		{"application/vnd.cncf.notary.signature", Referrer},
		{"", Referrer},
	} {
		t.Run(tc.artifactType, func(t *testing.T) {
			if got := Classify(tc.artifactType); got != tc.want {
				t.Errorf("Classify(%q) = %q, want %q", tc.artifactType, got, tc.want)
			}
		})
	}
}
