package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

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
			idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: registrytest.Descriptors(tt.n, types.OCIManifestSchema1, "")}
			body := registrytest.JSON(t, idx)
			var missed atomic.Int64
			host := registrytest.Fake(t, map[string]registrytest.Served{"/v2/app/manifests/v1": {Body: body, MediaType: types.OCIImageIndex}}, &missed)
			var got []Subject
			var err error
			n := registrytest.Allocated(func() { got, err = Resolve(context.Background(), []string{host + "/app:v1"}, true, limited) })
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
	host := registrytest.Fake(t, map[string]registrytest.Served{
		"/v2/app/manifests/big":     {Body: big, MediaType: types.OCIManifestSchema1},
		"/v2/app/manifests/sized":   {Body: big, MediaType: types.OCIManifestSchema1, WithLength: true},
		"/v2/app/manifests/exact":   {Body: exact, MediaType: types.OCIManifestSchema1},
		"/v2/app/referrers/big":     {Body: big, MediaType: types.OCIImageIndex},
		"/v2/app/blobs/big":         {Body: big, MediaType: "application/octet-stream"},
		"/v2/app/manifests/x/extra": {Body: big, MediaType: types.OCIManifestSchema1},
		"/storage/big":              {Body: big, MediaType: "application/octet-stream"},
		"/storage/sized":            {Body: big, MediaType: "application/octet-stream", WithLength: true},
		"/v2/app/manifests/moved":   {Redirect: "/storage/big"},
		"/v2/app/manifests/sized2":  {Redirect: "/storage/sized"},
		"/v2/app/manifests/twice":   {Redirect: "/v2/app/manifests/moved"},
		"/v2/app/referrers/moved":   {Redirect: "/storage/big"},
		"/v2/app/blobs/moved":       {Redirect: "/storage/big"},
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
		// The limit follows a redirect, however many hops, to any path;
		// a blob may be sent to storage whole.
		{http.MethodGet, "/v2/app/manifests/moved", true},
		{http.MethodGet, "/v2/app/manifests/sized2", true},
		{http.MethodGet, "/v2/app/manifests/twice", true},
		{http.MethodGet, "/v2/app/referrers/moved", true},
		{http.MethodGet, "/v2/app/blobs/moved", false},
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
