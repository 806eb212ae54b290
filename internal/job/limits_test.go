package job

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/store"
)

// TestRegistryReadsAreCapped checks that the registry options of a run
// cap manifest sizes: a .sig manifest over registry.MaxManifestSize is
// refused while it is read, not parsed.
func TestRegistryReadsAreCapped(t *testing.T) {
	big := []byte(`{"schemaVersion":2,"layers":[` + strings.Repeat(`{"size":1},`, registry.MaxManifestSize/10) + `{}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			return // the /v2/ ping
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		_, _ = w.Write(big)
	}))
	defer srv.Close()
	subject, err := name.NewDigest(strings.TrimPrefix(srv.URL, "http://") + "/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{}
	c.defaults()
	opts, err := c.remote()
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.NewTag(store.WithRemote(opts...)).Read(context.Background(), subject, payload.Signature{})
	if err == nil || !strings.Contains(err.Error(), "bytes for a manifest") {
		t.Errorf("ReadLegacy of a %d-byte .sig manifest = %d signatures, %v; want the manifest size limit", len(big), len(got), err)
	}
}
