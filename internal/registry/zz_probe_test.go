package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestProbeManyLayers(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	pushImage(t, host+"/app:v1")
	s := resolveOne(t, host+"/app:v1")
	loc, err := WriteBundle(ctx, s, []byte(`{}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	desc, _ := remote.Get(loc)
	var m referrerManifest
	json.Unmarshal(desc.Manifest, &m)
	for i := range 100 {
		l := static.NewLayer([]byte(fmt.Sprintf(`{"n":%d}`, i)), BundleMediaType)
		remote.WriteLayer(s.Digest.Context(), l)
		d, _ := descriptor(l)
		m.Layers = append(m.Layers, d)
	}
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytesReader(raw))
	if err := remote.Put(s.Digest.Context().Digest(h.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBundles(ctx, s.Digest)
	t.Logf("got %d bundles, err %v (MaxSignatures %d)", len(got), err, MaxSignatures)
}

func bytesReader(b []byte) *bytesR { return &bytesR{b: b} }

type bytesR struct{ b []byte }

func (r *bytesR) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
