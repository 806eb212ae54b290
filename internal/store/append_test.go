package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// TestAppendLayerHostileBase checks that appending a signature to a .sig
// image a hostile registry serves reads nothing of the image but its
// manifest when the manifest already says the image is too large.
func TestAppendLayerHostileBase(t *testing.T) {
	// A config as cosign writes one, grown to 96 MiB by one history entry.
	huge := []byte(`{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z","comment":"` +
		strings.Repeat("A", 96<<20) + `"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
	small := []byte(`{"architecture":"","created":"0001-01-01T00:00:00Z","history":[],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
	tests := []struct {
		name    string
		config  []byte
		size    int64 // the config's size in the manifest
		layers  int
		wantErr string
	}{
		{"config claims and serves 96 MiB", huge, int64(len(huge)), 1, fmt.Sprintf("has a config of %d bytes, over keyless's limit of %d", len(huge), registry.MaxConfigSize)},
		{"config of unknown size serves 96 MiB", huge, -1, 1, fmt.Sprintf("has a config of -1 bytes, over keyless's limit of %d", registry.MaxConfigSize)},
		{"one over the config limit", small, registry.MaxConfigSize + 1, 1, "over keyless's limit of 1048576"},
		{"already registry.MaxSignatures layers", small, int64(len(small)), registry.MaxSignatures, fmt.Sprintf("already has %d layers, the most keyless reads is %d", registry.MaxSignatures, registry.MaxSignatures)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := sha256.Sum256(tt.config)
			cd := v1.Descriptor{MediaType: types.OCIConfigJSON, Size: tt.size, Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}}
			sig := v1.Manifest{
				SchemaVersion: 2,
				MediaType:     types.OCIManifestSchema1,
				Config:        cd,
				Layers:        registrytest.Descriptors(tt.layers, SimpleSigningMediaType, AnnotationSignature),
			}
			tag := "sha256-" + strings.Repeat("5", 64) + ".sig"
			var sent atomic.Int64
			host := registrytest.Fake(t, map[string]registrytest.Served{
				"/v2/app/manifests/" + tag:            {Body: registrytest.JSON(t, sig), MediaType: types.OCIManifestSchema1, WithLength: true},
				"/v2/app/blobs/" + cd.Digest.String(): {Body: tt.config, MediaType: types.OCIConfigJSON, Sent: &sent},
			}, nil)
			subject, err := name.NewDigest(host + "/app@" + subjectDigest)
			if err != nil {
				t.Fatal(err)
			}
			n := registrytest.Allocated(func() {
				err = AppendLayer(context.Background(), TagOf(subject, "sig"), []byte(`{"n":1}`), SimpleSigningMediaType, nil, limited)
			})
			t.Logf("config of %d bytes: %d bytes of it sent, %d MiB allocated", len(tt.config), sent.Load(), n>>20)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tag) {
				t.Fatalf("AppendLayer = %v; want an error naming %s with %q", err, tag, tt.wantErr)
			}
			if s := sent.Load(); s != 0 {
				t.Errorf("AppendLayer read %d bytes of the config of a refused image, want none", s)
			}
		})
	}
}
