package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

func sortStored(s []Raw) []Raw {
	sort.Slice(s, func(i, j int) bool { return bytes.Compare(s[i].Blob, s[j].Blob) < 0 })
	return s
}

func TestWriteReadBundles(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	for _, tt := range []struct {
		name      string
		referrers bool
	}{
		{"referrers API", true},
		{"tag schema fallback", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			host := registrytest.New(t, tt.referrers)
			subject := pushed(t, host+"/app:v1")

			var want []Raw
			for i := range 2 {
				b := registrytest.JSON(t, map[string]any{"mediaType": BundleMediaType, "n": i})
				loc, err := WriteReferrer(ctx, subject, b, payload.SignPredicateType, now)
				if err != nil {
					t.Fatalf("WriteBundle #%d: %v", i, err)
				}
				if diff := cmp.Diff(subject.Digest.Context().String(), loc.Context().String()); diff != "" {
					t.Errorf("referrer repository mismatch (-want +got):\n%s", diff)
				}
				want = append(want, Raw{Location: loc.String(), Blob: b, Digest: blobDigest(b)})
			}

			got, err := ReadReferrers(ctx, subject.Digest, "", registry.MaxBlobSize)
			if err != nil {
				t.Fatalf("ReadBundles: %v", err)
			}
			if diff := cmp.Diff(sortStored(want), sortStored(got)); diff != "" {
				t.Errorf("ReadBundles mismatch (-want +got):\n%s", diff)
			}

			unsigned := pushed(t, host+"/app:unsigned")
			got, err = ReadReferrers(ctx, unsigned.Digest, "", registry.MaxBlobSize)
			if err != nil {
				t.Fatalf("ReadBundles(unsigned): %v", err)
			}
			if len(got) != 0 {
				t.Errorf("ReadBundles(unsigned) = %+v, want none", got)
			}
		})
	}
}

func TestWriteBundleManifest(t *testing.T) {
	ctx := context.Background()
	host := registrytest.New(t, true)
	subject := pushed(t, host+"/app:v1")
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	now := time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))

	loc, err := WriteReferrer(ctx, subject, bundle, payload.SignPredicateType, now)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	// The returned digest is the digest of what the registry serves.
	if diff := cmp.Diff(loc.DigestStr(), desc.Digest.String()); diff != "" {
		t.Errorf("referrer digest mismatch (-want +got):\n%s", diff)
	}
	var m struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     types.MediaType   `json:"mediaType"`
		ArtifactType  string            `json:"artifactType"`
		Config        v1.Descriptor     `json:"config"`
		Layers        []v1.Descriptor   `json:"layers"`
		Subject       *v1.Descriptor    `json:"subject"`
		Annotations   map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	type manifestView struct {
		SchemaVersion     int
		MediaType         types.MediaType
		ArtifactType      string
		ConfigMediaType   types.MediaType
		ConfigSize        int64
		LayerMediaTypes   []types.MediaType
		LayerSizes        []int64
		SubjectMediaType  types.MediaType
		SubjectDigest     string
		SubjectSize       int64
		Annotations       map[string]string
		ResponseMediaType types.MediaType
	}
	got := manifestView{
		SchemaVersion: m.SchemaVersion, MediaType: m.MediaType, ArtifactType: m.ArtifactType,
		ConfigMediaType: m.Config.MediaType, ConfigSize: m.Config.Size,
		Annotations: m.Annotations, ResponseMediaType: desc.MediaType,
	}
	for _, l := range m.Layers {
		got.LayerMediaTypes = append(got.LayerMediaTypes, l.MediaType)
		got.LayerSizes = append(got.LayerSizes, l.Size)
	}
	if m.Subject != nil {
		got.SubjectMediaType, got.SubjectDigest, got.SubjectSize = m.Subject.MediaType, m.Subject.Digest.String(), m.Subject.Size
	}
	want := manifestView{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: BundleMediaType,
		ConfigMediaType: "application/vnd.oci.empty.v1+json", ConfigSize: 2,
		LayerMediaTypes: []types.MediaType{BundleMediaType}, LayerSizes: []int64{int64(len(bundle))},
		SubjectMediaType: subject.Descriptor.MediaType, SubjectDigest: subject.Digest.DigestStr(), SubjectSize: subject.Descriptor.Size,
		Annotations: map[string]string{
			"org.opencontainers.image.created":  "2025-06-01T12:00:00Z",
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": payload.SignPredicateType,
		},
		ResponseMediaType: types.OCIManifestSchema1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("referrer manifest mismatch (-want +got):\n%s", diff)
	}
}

// TestReadBundlesSkipsOtherSubject lists, under subject A's fallback tag, a
// referrer whose manifest names subject B: it must not be read as A's.
func TestReadBundlesSkipsOtherSubject(t *testing.T) {
	ctx := context.Background()
	host := registrytest.New(t, false)
	a, b := pushed(t, host+"/app:a"), pushed(t, host+"/app:b")
	now := time.Now()

	bundleA := []byte(`{"for":"a"}`)
	locA, err := WriteReferrer(ctx, a, bundleA, payload.SignPredicateType, now)
	if err != nil {
		t.Fatal(err)
	}
	locB, err := WriteReferrer(ctx, b, []byte(`{"for":"b"}`), payload.SignPredicateType, now)
	if err != nil {
		t.Fatal(err)
	}

	// Add B's referrer to A's fallback index.
	fallback := registrytest.Ref(t, host+"/app:"+strings.Replace(a.Digest.DigestStr(), ":", "-", 1))
	idx, err := remote.Index(fallback)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	bDesc, err := remote.Head(locB)
	if err != nil {
		t.Fatal(err)
	}
	im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: bDesc.MediaType, Digest: bDesc.Digest, Size: bDesc.Size, ArtifactType: BundleMediaType})
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(fallback, rawManifest{raw, types.OCIImageIndex}); err != nil {
		t.Fatal(err)
	}

	got, err := ReadReferrers(ctx, a.Digest, "", registry.MaxBlobSize)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Raw{{Location: locA.String(), Blob: bundleA, Digest: blobDigest(bundleA)}}, got); diff != "" {
		t.Errorf("ReadBundles mismatch (-want +got):\n%s", diff)
	}
}

func TestReadBundlesLimits(t *testing.T) {
	ctx := context.Background()

	t.Run("blob over registry.MaxBlobSize", func(t *testing.T) {
		host := registrytest.New(t, true)
		s := pushed(t, host+"/app:v1")
		big := append([]byte(`"`), bytes.Repeat([]byte("a"), registry.MaxBlobSize)...)
		if _, err := WriteReferrer(ctx, s, big, payload.SignPredicateType, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := ReadReferrers(ctx, s.Digest, "", registry.MaxBlobSize)
		if err == nil || !strings.Contains(err.Error(), "limit") {
			t.Fatalf("ReadBundles = %d bundles, %v; want an over-the-limit error", len(got), err)
		}
	})

	t.Run("blob of exactly registry.MaxBlobSize", func(t *testing.T) {
		host := registrytest.New(t, true)
		s := pushed(t, host+"/app:v1")
		b := bytes.Repeat([]byte("a"), registry.MaxBlobSize)
		if _, err := WriteReferrer(ctx, s, b, payload.SignPredicateType, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := ReadReferrers(ctx, s.Digest, "", registry.MaxBlobSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !bytes.Equal(got[0].Blob, b) {
			t.Errorf("ReadBundles returned %d bundles, want the one of %d bytes", len(got), registry.MaxBlobSize)
		}
	})

	t.Run("more than registry.MaxSignatures referrers", func(t *testing.T) {
		host := registrytest.New(t, true)
		s := pushed(t, host+"/app:v1")
		for i := range registry.MaxSignatures + 1 {
			if _, err := WriteReferrer(ctx, s, []byte(fmt.Sprintf(`{"n":%d}`, i)), payload.SignPredicateType, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadReferrers(ctx, s.Digest, "", registry.MaxBlobSize)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d", registry.MaxSignatures)) {
			t.Fatalf("ReadBundles = %d bundles, %v; want a too-many-referrers error", len(got), err)
		}
	})
}

func TestReadBundlesMissingRepository(t *testing.T) {
	host := registrytest.New(t, false)
	d, err := name.NewDigest(host + "/ghost@sha256:" + strings.Repeat("1", 64))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadReferrers(context.Background(), d, "", registry.MaxBlobSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("ReadBundles = %+v, want none", got)
	}
}
