package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry"
)

// served is one response of a fakeRegistry.
type served struct {
	body       []byte
	mediaType  types.MediaType
	withLength bool // send Content-Length; else the body is chunked
}

// fakeRegistry serves the given paths and 404 for everything else; it
// counts the manifest requests it answers with 404.
func fakeRegistry(t *testing.T, paths map[string]served, missed *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return // the ping
		}
		s, ok := paths[r.URL.Path]
		if !ok {
			if missed != nil && strings.Contains(r.URL.Path, "/manifests/") {
				missed.Add(1)
			}
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(s.body)
		w.Header().Set("Content-Type", string(s.mediaType))
		w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", sum))
		if s.withLength || r.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
		}
		if r.Method == http.MethodGet {
			_, _ = w.Write(s.body)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// descriptors returns n distinct descriptors of the given media type,
// each with an annotation as large as a real cosign signature's.
func descriptors(n int, mt types.MediaType, annotation string) []v1.Descriptor {
	out := make([]v1.Descriptor, n)
	sig := strings.Repeat("A", 96)
	for i := range out {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		out[i] = v1.Descriptor{MediaType: mt, Size: 300, Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}}
		if annotation != "" {
			out[i].Annotations = map[string]string{annotation: sig}
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allocated returns the bytes allocated while f runs: an upper bound of
// how much the heap grows.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

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
		Layers:        descriptors(100_000, SimpleSigningMediaType, AnnotationSignature),
	}
	body := mustJSON(t, sig)
	t.Logf(".sig manifest of %d layers: %d MiB", len(sig.Layers), len(body)>>20)
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length %v", withLength), func(t *testing.T) {
			tag := "sha256-" + strings.Repeat("5", 64) + ".sig"
			host := fakeRegistry(t, map[string]served{"/v2/app/manifests/" + tag: {body, types.OCIManifestSchema1, withLength}}, nil)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			var got []Raw
			n := allocated(func() { got, err = readLegacy(context.Background(), subject, limited) })
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
			list := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descriptors(tt.n, types.OCIManifestSchema1, "")}
			for i := range list.Manifests {
				list.Manifests[i].ArtifactType = "application/vnd.example.sbom"
			}
			body := mustJSON(t, list)
			var missed atomic.Int64
			host := fakeRegistry(t, map[string]served{"/v2/app/referrers/" + subjectDigest: {body, types.OCIImageIndex, false}}, &missed)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			var got []Raw
			n := allocated(func() { got, err = ReadReferrers(context.Background(), subject, "", registry.MaxBlobSize, limited) })
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
