package registry

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
const heapBound = 8 * MaxManifestSize

var subjectDigest = "sha256:" + strings.Repeat("5", 64)

// limited is how every test here reaches the registry: the way keyless
// does, through LimitTransport.
var limited = remote.WithTransport(LimitTransport(http.DefaultTransport))

func TestResolveIndexLimits(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantErr string
	}{
		{"100k manifests are over the size limit", 100_000, "limit of 4194304 bytes for a manifest"},
		{"one over the count limit", MaxIndexManifests + 1, fmt.Sprintf("lists more manifests than keyless's limit of %d", MaxIndexManifests)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descriptors(tt.n, types.OCIManifestSchema1, "")}
			body := mustJSON(t, idx)
			var missed atomic.Int64
			host := fakeRegistry(t, map[string]served{"/v2/app/manifests/v1": {body, types.OCIImageIndex, false}}, &missed)
			var got []Subject
			var err error
			n := allocated(func() { got, err = Resolve(context.Background(), []string{host + "/app:v1"}, true, limited) })
			t.Logf("index of %d manifests (%d KiB): allocated %d MiB", tt.n, len(body)>>10, n>>20)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve = %d subjects, %v; want an error with %q", len(got), err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), host+"/app:v1") {
				t.Errorf("error %q does not name the image", err)
			}
			if m := missed.Load(); m != 0 {
				t.Errorf("Resolve fetched %d manifests of a refused index", m)
			}
			if n > heapBound {
				t.Errorf("resolving a refused index of %d manifests allocated %d MiB, over %d MiB", tt.n, n>>20, heapBound>>20)
			}
		})
	}
}

func TestLimitTransport(t *testing.T) {
	big := make([]byte, MaxManifestSize+1)
	exact := big[:MaxManifestSize]
	host := fakeRegistry(t, map[string]served{
		"/v2/app/manifests/big":     {big, types.OCIManifestSchema1, false},
		"/v2/app/manifests/sized":   {big, types.OCIManifestSchema1, true},
		"/v2/app/manifests/exact":   {exact, types.OCIManifestSchema1, false},
		"/v2/app/referrers/big":     {big, types.OCIImageIndex, false},
		"/v2/app/blobs/big":         {big, "application/octet-stream", false},
		"/v2/app/manifests/x/extra": {big, types.OCIManifestSchema1, false},
	}, nil)
	client := &http.Client{Transport: LimitTransport(nil)}
	tests := []struct {
		method, path string
		wantErr      bool
	}{
		{http.MethodGet, "/v2/app/manifests/big", true},
		{http.MethodGet, "/v2/app/manifests/sized", true},
		{http.MethodGet, "/v2/app/referrers/big", true},
		{http.MethodGet, "/v2/app/manifests/exact", false},
		{http.MethodHead, "/v2/app/manifests/big", false},
		{http.MethodGet, "/v2/app/blobs/big", false},
		{http.MethodGet, "/v2/app/manifests/x/extra", false},
		{http.MethodGet, "/v2/app/manifests/missing", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+host+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("%s %s: error %v, want an error: %v", tt.method, tt.path, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
		})
	}
}
