// Package registrytest holds in-process registries and fixtures for tests
// only: a ggcr registry that serves the OCI referrers API as the spec does,
// a fake registry that answers fixed paths, and small helpers around them.
package registrytest

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// New starts an in-process registry and returns its host:port; it stops
// when t ends. With referrers, the registry serves the OCI 1.1 referrers
// API; without, clients fall back to the sha256-<hex> tag schema.
func New(t testing.TB, referrers bool) string {
	t.Helper()
	srv := httptest.NewServer(Handler(referrers))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Handler is the registry New serves, for a test that wraps it.
func Handler(referrers bool) http.Handler {
	var h http.Handler = ggcr.New(ggcr.WithReferrersSupport(referrers), ggcr.Logger(log.New(io.Discard, "", 0)))
	if referrers {
		h = specArtifactType(h)
	}
	return h
}

// specArtifactType makes the registry's referrers API follow the OCI
// distribution spec: a descriptor's artifactType is the manifest's
// artifactType when it has one (ggcr's registry always uses
// config.mediaType, which real registries do not).
func specArtifactType(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before, _, ok := strings.Cut(r.URL.Path, "/referrers/")
		if r.Method != http.MethodGet || !ok {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var im v1.IndexManifest
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &im) != nil {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		for i, d := range im.Manifests {
			mrec := httptest.NewRecorder()
			h.ServeHTTP(mrec, httptest.NewRequest(http.MethodGet, before+"/manifests/"+d.Digest.String(), nil))
			var m struct {
				ArtifactType string `json:"artifactType"`
			}
			if json.Unmarshal(mrec.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				im.Manifests[i].ArtifactType = m.ArtifactType
			}
		}
		b, _ := json.Marshal(im)
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		_, _ = w.Write(b)
	})
}

// Ref parses s as an image reference or fails t.
func Ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// PushImage pushes a random image to ref and returns its digest.
func PushImage(t testing.TB, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(Ref(t, ref), img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// JSON is v marshalled, or fails t.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Allocated returns the bytes allocated while f runs: an upper bound of
// how much the heap grows.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
