package registrytest_test

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// TestNewReferrersArtifactType checks that the referrers API reports a
// manifest's own artifactType, as the OCI distribution spec says, not its
// config's media type.
func TestNewReferrersArtifactType(t *testing.T) {
	host := registrytest.New(t, true)
	d := registrytest.PushImage(t, host+"/app:v1")
	const artifactType = "application/vnd.example.test+json"
	manifest := registrytest.JSON(t, map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"artifactType":  artifactType,
		"config":        map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
		"layers":        []any{},
		"subject":       map[string]any{"mediaType": types.OCIManifestSchema1, "digest": d.String(), "size": 1},
	})
	if err := remote.Put(registrytest.Ref(t, host+"/app:ref"), rawManifest(manifest)); err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(registrytest.Ref(t, host+"/app@"+d.String()).(name.Digest))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range im.Manifests {
		got = append(got, m.ArtifactType)
	}
	if diff := cmp.Diff([]string{artifactType}, got); diff != "" {
		t.Errorf("referrers' artifactType (-want +got):\n%s", diff)
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func TestFake(t *testing.T) {
	// Over net/http's 2 KiB response buffer, which would set a length.
	body := bytes.Repeat([]byte("a"), 8<<10)
	var missed, sent atomic.Int64
	host := registrytest.Fake(t, map[string]registrytest.Served{
		"/v2/app/manifests/chunked": {Body: body, MediaType: types.OCIManifestSchema1, Sent: &sent},
		"/v2/app/manifests/sized":   {Body: body, MediaType: types.OCIManifestSchema1, WithLength: true},
		"/v2/app/manifests/moved":   {Redirect: "/v2/app/manifests/sized"},
	}, &missed)
	for _, tc := range []struct {
		path       string
		wantStatus int
		wantLength int64
	}{
		{"/v2/app/manifests/chunked", http.StatusOK, -1},
		{"/v2/app/manifests/sized", http.StatusOK, 8 << 10},
		{"/v2/app/manifests/moved", http.StatusOK, 8 << 10},
		{"/v2/app/manifests/missing", http.StatusNotFound, -2},
		{"/v2/app/blobs/missing", http.StatusNotFound, -2},
	} {
		resp, err := http.Get("http://" + host + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.wantStatus)
		}
		if tc.wantStatus == http.StatusOK && (resp.ContentLength != tc.wantLength || !bytes.Equal(got, body)) {
			t.Errorf("GET %s: length %d, %d bytes; want length %d, the %d bytes served", tc.path, resp.ContentLength, len(got), tc.wantLength, len(body))
		}
	}
	if got := sent.Load(); got != int64(len(body)) {
		t.Errorf("sent = %d, want %d (the chunked body, once)", got, len(body))
	}
	if got := missed.Load(); got != 1 {
		t.Errorf("missed = %d, want 1 (the missing manifest, not the blob)", got)
	}
}

func TestDescriptors(t *testing.T) {
	ds := registrytest.Descriptors(3, types.OCIManifestSchema1, "sig")
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.Digest.String()] || len(d.Annotations["sig"]) != 96 {
			t.Errorf("descriptor %+v: want a distinct digest and a 96-byte annotation", d)
		}
		seen[d.Digest.String()] = true
	}
	if len(ds) != 3 {
		t.Errorf("Descriptors(3) = %d descriptors", len(ds))
	}
}
