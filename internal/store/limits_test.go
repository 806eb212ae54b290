package store

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// heapBound is what reading a refused manifest may allocate: the capped
// body read (with io.ReadAll's growth) and HTTP buffers; parsing the
// whole manifest took 243 MiB for a 29 MiB one.
const heapBound = 8 * registry.MaxManifestSize

var subjectDigest = "sha256:" + strings.Repeat("5", 64)

// limited is how every test here reaches the registry: the way keyless
// does, through registry.LimitTransport.
var limited = remote.WithTransport(registry.LimitTransport(http.DefaultTransport))

func TestReadLegacyHugeManifest(t *testing.T) {
	sig := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("4", 64)}},
		Layers:        registrytest.Descriptors(100_000, SimpleSigningMediaType, AnnotationSignature),
	}
	body := registrytest.JSON(t, sig)
	t.Logf(".sig manifest of %d layers: %d MiB", len(sig.Layers), len(body)>>20)
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length %v", withLength), func(t *testing.T) {
			tag := "sha256-" + strings.Repeat("5", 64) + ".sig"
			host := registrytest.Fake(t, map[string]registrytest.Served{"/v2/app/manifests/" + tag: {Body: body, MediaType: types.OCIManifestSchema1, WithLength: withLength}}, nil)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			var got []Raw
			n := registrytest.Allocated(func() { got, err = readLegacy(context.Background(), subject, limited) })
			t.Logf("allocated %d MiB", n>>20)
			if err == nil || !strings.Contains(err.Error(), "limit of 4194304 bytes for a manifest") {
				t.Fatalf("ReadLegacy = %d signatures, %v; want the manifest size limit", len(got), err)
			}
			if !strings.Contains(err.Error(), tag) {
				t.Errorf("error %q does not name %s", err, tag)
			}
			if n > heapBound {
				t.Errorf("reading a refused %d MiB manifest allocated %d MiB, over %d MiB", len(body)>>20, n>>20, heapBound>>20)
			}
		})
	}
}

// TestReadLegacyRedirectedManifest checks that the manifest size limit
// holds when the registry redirects the manifest GET to another path,
// where the limit is not decided by the path alone.
func TestReadLegacyRedirectedManifest(t *testing.T) {
	sig := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("4", 64)}},
		Layers:        registrytest.Descriptors(83_000, SimpleSigningMediaType, ""),
	}
	body := registrytest.JSON(t, sig)
	t.Logf(".sig manifest of %d layers: %.1f MiB", len(sig.Layers), float64(len(body))/(1<<20))
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length %v", withLength), func(t *testing.T) {
			tag := "sha256-" + strings.Repeat("5", 64) + ".sig"
			host := registrytest.Fake(t, map[string]registrytest.Served{
				"/v2/app/manifests/" + tag: {Redirect: "/storage/manifest"},
				"/storage/manifest":        {Body: body, MediaType: types.OCIManifestSchema1, WithLength: withLength},
			}, nil)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			var got []Raw
			n := registrytest.Allocated(func() { got, err = readLegacy(context.Background(), subject, limited) })
			t.Logf("allocated %d MiB", n>>20)
			if err == nil || !strings.Contains(err.Error(), "limit of 4194304 bytes for a manifest") {
				t.Fatalf("ReadLegacy = %d signatures, %v; want the manifest size limit", len(got), err)
			}
			if !strings.Contains(err.Error(), tag) {
				t.Errorf("error %q does not name %s", err, tag)
			}
			if n > heapBound {
				t.Errorf("reading a refused %d MiB manifest allocated %d MiB, over %d MiB", len(body)>>20, n>>20, heapBound>>20)
			}
		})
	}
}

func TestReadBundlesReferrersLimits(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantErr string
	}{
		{"100k referrers are over the size limit", 100_000, "limit of 4194304 bytes for a manifest"},
		{"one over the count limit", registry.MaxReferrers + 1, fmt.Sprintf("has %d referrers, over keyless's limit of %d", registry.MaxReferrers+1, registry.MaxReferrers)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: registrytest.Descriptors(tt.n, types.OCIManifestSchema1, "")}
			for i := range list.Manifests {
				list.Manifests[i].ArtifactType = "application/vnd.example.sbom"
			}
			body := registrytest.JSON(t, list)
			var missed atomic.Int64
			host := registrytest.Fake(t, map[string]registrytest.Served{"/v2/app/referrers/" + subjectDigest: {Body: body, MediaType: types.OCIImageIndex}}, &missed)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			var got []Raw
			n := registrytest.Allocated(func() { got, err = ReadReferrers(context.Background(), subject, "", registry.MaxBlobSize, limited) })
			t.Logf("%d referrers (%d KiB): allocated %d MiB", tt.n, len(body)>>10, n>>20)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadBundles = %d bundles, %v; want an error with %q", len(got), err, tt.wantErr)
			}
			if m := missed.Load(); m != 0 {
				t.Errorf("ReadBundles fetched %d referrer manifests of a refused list", m)
			}
			if n > heapBound {
				t.Errorf("reading a refused list of %d referrers allocated %d MiB, over %d MiB", tt.n, n>>20, heapBound>>20)
			}
		})
	}
}
