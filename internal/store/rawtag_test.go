package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

func TestWriteReadLegacy(t *testing.T) {
	ctx := context.Background()
	host := registrytest.New(t, false)
	s := pushed(t, host+"/app:v1")
	wantTag := host + "/app:" + strings.Replace(s.Digest.DigestStr(), ":", "-", 1) + ".sig"

	sigs := []struct {
		payload     []byte
		annotations map[string]string
	}{
		{[]byte(`{"critical":{"n":1}}`), map[string]string{AnnotationSignature: "c2lnMQ==", AnnotationCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", AnnotationBundle: `{"SignedEntryTimestamp":"x"}`}},
		{[]byte(`{"critical":{"n":2}}`), map[string]string{AnnotationSignature: "c2lnMg==", AnnotationChain: "chain", AnnotationTimestamp: `{"SignedRFC3161Timestamp":"y"}`}},
	}
	var want []Raw
	for i, sig := range sigs {
		tag, err := writeLegacy(ctx, s.Digest, sig.payload, sig.annotations)
		if err != nil {
			t.Fatalf("WriteLegacy #%d: %v", i, err)
		}
		if diff := cmp.Diff(wantTag, tag.String()); diff != "" {
			t.Errorf("WriteLegacy tag mismatch (-want +got):\n%s", diff)
		}
		want = append(want, Raw{Location: wantTag, Blob: sig.payload, Digest: blobDigest(sig.payload), Annotations: sig.annotations})
	}

	got, err := readLegacy(ctx, s.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadLegacy mismatch (-want +got):\n%s", diff)
	}

	// The .sig image is an OCI manifest whose layers are simple-signing payloads.
	img, err := remote.Image(registrytest.Ref(t, wantTag))
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var layerTypes []types.MediaType
	for _, l := range m.Layers {
		layerTypes = append(layerTypes, l.MediaType)
	}
	type shape struct {
		MediaType, ConfigMediaType types.MediaType
		LayerMediaTypes            []types.MediaType
	}
	if diff := cmp.Diff(shape{types.OCIManifestSchema1, types.OCIConfigJSON, []types.MediaType{SimpleSigningMediaType, SimpleSigningMediaType}},
		shape{mt, m.Config.MediaType, layerTypes}); diff != "" {
		t.Errorf(".sig image shape mismatch (-want +got):\n%s", diff)
	}
}

func TestReadLegacyNoTag(t *testing.T) {
	host := registrytest.New(t, false)
	s := pushed(t, host+"/app:v1")
	got, err := readLegacy(context.Background(), s.Digest)
	if err != nil {
		t.Fatalf("ReadLegacy: %v", err)
	}
	if got != nil {
		t.Errorf("ReadLegacy = %+v, want nil", got)
	}
}

// pushSigImage pushes a .sig image for subject with the given layers.
func pushSigImage(t *testing.T, s registry.Subject, layers ...mutate.Addendum) {
	t.Helper()
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(TagOf(s.Digest, "sig"), img); err != nil {
		t.Fatal(err)
	}
}

func TestReadLegacyLayers(t *testing.T) {
	ctx := context.Background()
	sigLayer := func(payload string) mutate.Addendum {
		return mutate.Addendum{Layer: static.NewLayer([]byte(payload), SimpleSigningMediaType), MediaType: SimpleSigningMediaType}
	}
	many := func(n int) []mutate.Addendum {
		var out []mutate.Addendum
		for i := range n {
			out = append(out, sigLayer(fmt.Sprintf(`{"n":%d}`, i)))
		}
		return out
	}
	tests := []struct {
		name      string
		layers    []mutate.Addendum
		wantBlobs []string
		wantErr   string
	}{
		{
			name: "other media types skipped",
			layers: []mutate.Addendum{
				sigLayer(`{"a":1}`),
				{Layer: static.NewLayer([]byte("not a signature"), types.OCILayer), MediaType: types.OCILayer},
				sigLayer(`{"b":2}`),
			},
			wantBlobs: []string{`{"a":1}`, `{"b":2}`},
		},
		{
			name:   "exactly registry.MaxSignatures",
			layers: many(registry.MaxSignatures),
			wantBlobs: func() []string {
				var s []string
				for i := range registry.MaxSignatures {
					s = append(s, fmt.Sprintf(`{"n":%d}`, i))
				}
				return s
			}(),
		},
		{name: "more than registry.MaxSignatures refused", layers: many(registry.MaxSignatures + 1), wantErr: fmt.Sprintf("over the limit of %d", registry.MaxSignatures)},
		{name: "blob over registry.MaxBlobSize refused", layers: []mutate.Addendum{sigLayer(strings.Repeat("x", registry.MaxBlobSize+1))}, wantErr: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := registrytest.New(t, false)
			s := pushed(t, host+"/app:v1")
			pushSigImage(t, s, tt.layers...)
			got, err := readLegacy(ctx, s.Digest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadLegacy = %d signatures, %v; want error containing %q", len(got), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var blobs []string
			for _, g := range got {
				blobs = append(blobs, string(g.Blob))
			}
			if diff := cmp.Diff(tt.wantBlobs, blobs); diff != "" {
				t.Errorf("ReadLegacy blobs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteLegacyOverMaxBlobSizeIsNotRead(t *testing.T) {
	ctx := context.Background()
	host := registrytest.New(t, false)
	s := pushed(t, host+"/app:v1")
	if _, err := writeLegacy(ctx, s.Digest, bytes.Repeat([]byte("y"), registry.MaxBlobSize+1), nil); err != nil {
		t.Fatal(err)
	}
	got, err := readLegacy(ctx, s.Digest)
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("ReadLegacy = %d signatures, %v; want an over-the-limit error", len(got), err)
	}
}
