package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// lyingRegistry is an in-process registry that labels every manifest as a
// plain Docker image in its Content-Type, on HEAD and on GET alike.
func lyingRegistry(t *testing.T) string {
	t.Helper()
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && (r.Method == http.MethodHead || r.Method == http.MethodGet) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			if rec.Code == http.StatusOK {
				w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestResolveIgnoresContentType: a registry that calls an index an image
// must not make keyless skip the index's manifests.
func TestResolveIgnoresContentType(t *testing.T) {
	host := lyingRegistry(t)
	idx, children := pushIndex(t, host+"/multi:v1")
	got, err := Resolve(context.Background(), []string{host + "/multi:v1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	in := host + "/multi:v1"
	want := []subjectView{
		{Digest: host + "/multi@" + idx.String(), Input: in, MediaType: types.OCIImageIndex, DescDigest: idx.String()},
		{Digest: host + "/multi@" + children[0].String(), Input: in, Platform: "linux/amd64", MediaType: types.DockerManifestSchema2, DescDigest: children[0].String()},
		{Digest: host + "/multi@" + children[1].String(), Input: in, Platform: "linux/arm64/v8", MediaType: types.DockerManifestSchema2, DescDigest: children[1].String()},
	}
	if diff := cmp.Diff(want, view(got)); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}
}

// indexOf builds an OCI index of the given manifests (images or indexes).
func indexOf(t *testing.T, adds ...mutate.IndexAddendum) v1.ImageIndex {
	t.Helper()
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// TestResolveNestedIndexes: an index of indexes is expanded at every
// depth, each digest once, an index before what it lists.
func TestResolveNestedIndexes(t *testing.T) {
	host := registrytest.New(t, true)
	shared, amd, arm, solo := randomImage(t), randomImage(t), randomImage(t), randomImage(t)
	linuxAMD := v1.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM := v1.Platform{OS: "linux", Architecture: "arm64"}
	inner1 := indexOf(t,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &linuxAMD}},
		mutate.IndexAddendum{Add: shared, Descriptor: v1.Descriptor{Platform: &linuxARM}})
	inner2 := indexOf(t,
		mutate.IndexAddendum{Add: shared},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &linuxARM}})
	deepest := indexOf(t, mutate.IndexAddendum{Add: solo})
	inner3 := indexOf(t, mutate.IndexAddendum{Add: deepest})
	top := indexOf(t,
		mutate.IndexAddendum{Add: inner1},
		mutate.IndexAddendum{Add: inner2},
		mutate.IndexAddendum{Add: inner3})
	in := host + "/nested:v1"
	if err := remote.WriteIndex(registrytest.Ref(t, in), top); err != nil {
		t.Fatal(err)
	}
	repo := host + "/nested@"
	sv := func(d, platform string, mt types.MediaType) subjectView {
		return subjectView{Digest: repo + d, Input: in, Platform: platform, MediaType: mt, DescDigest: d}
	}
	topD, i1, i2, i3, dp := digestOf(t, top), digestOf(t, inner1), digestOf(t, inner2), digestOf(t, inner3), digestOf(t, deepest)
	want := []subjectView{
		sv(topD, "", types.OCIImageIndex),
		sv(i1, "", types.OCIImageIndex),
		sv(digestOf(t, amd), "linux/amd64", types.DockerManifestSchema2),
		sv(digestOf(t, shared), "linux/arm64", types.DockerManifestSchema2),
		sv(i2, "", types.OCIImageIndex),
		sv(digestOf(t, arm), "linux/arm64", types.DockerManifestSchema2),
		sv(i3, "", types.OCIImageIndex),
		sv(dp, "", types.OCIImageIndex),
		sv(digestOf(t, solo), "", types.DockerManifestSchema2),
	}
	got, err := Resolve(context.Background(), []string{in}, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, view(got)); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}
}

// chain pushes indexes nested n deep around one image and returns the tag.
func chain(t *testing.T, host string, n int) string {
	t.Helper()
	var m mutate.Appendable = randomImage(t)
	for range n {
		m = indexOf(t, mutate.IndexAddendum{Add: m})
	}
	ref := fmt.Sprintf("%s/chain:%d", host, n)
	if err := remote.WriteIndex(registrytest.Ref(t, ref), m.(v1.ImageIndex)); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestResolveDepthLimit(t *testing.T) {
	host := registrytest.New(t, true)
	ok := chain(t, host, MaxIndexDepth)
	got, err := Resolve(context.Background(), []string{ok}, true)
	if err != nil {
		t.Fatalf("indexes nested %d deep: %v", MaxIndexDepth, err)
	}
	if len(got) != MaxIndexDepth+1 {
		t.Errorf("indexes nested %d deep gave %d subjects, want %d", MaxIndexDepth, len(got), MaxIndexDepth+1)
	}

	deep := chain(t, host, MaxIndexDepth+1)
	got, err = Resolve(context.Background(), []string{deep}, true)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("indexes nested %d deep: Resolve = %d subjects, %v; want an *InputError", MaxIndexDepth+1, len(got), err)
	}
	if ie.Ref != deep {
		t.Errorf("InputError.Ref = %q, want %q", ie.Ref, deep)
	}
	if want := fmt.Sprintf("limit of %d", MaxIndexDepth); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the limit (%q)", err, want)
	}

	// Without recursive, only the top index is a subject: no limit applies.
	if got, err := Resolve(context.Background(), []string{deep}, false); err != nil || len(got) != 1 {
		t.Errorf("Resolve(%s, not recursive) = %d subjects, %v; want 1, nil", deep, len(got), err)
	}
}

func TestParseManifest(t *testing.T) {
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	child := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("b", 64) + `","size":1}`
	tests := []struct {
		name      string
		raw       string
		labeled   types.MediaType
		wantType  types.MediaType
		wantIndex bool
		wantKids  int
		wantErr   string
	}{
		{name: "OCI index", raw: `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + child + `]}`, labeled: types.DockerManifestSchema2, wantType: types.OCIImageIndex, wantIndex: true, wantKids: 1},
		{name: "Docker list", raw: `{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[` + child + `,` + child + `]}`, wantType: types.DockerManifestList, wantIndex: true, wantKids: 2},
		{name: "index without mediaType", raw: `{"schemaVersion":2,"manifests":[` + child + `]}`, labeled: types.OCIManifestSchema1, wantType: types.OCIImageIndex, wantIndex: true, wantKids: 1},
		{name: "empty index", raw: `{"mediaType":"application/vnd.oci.image.index.v1+json"}`, wantType: types.OCIImageIndex, wantIndex: true},
		{name: "image labeled an index", raw: `{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`, labeled: types.OCIImageIndex, wantType: types.OCIManifestSchema1},
		{name: "image without mediaType", raw: `{"schemaVersion":2,"config":{}}`, labeled: types.DockerManifestSchema2, wantType: types.DockerManifestSchema2},
		{name: "image without mediaType labeled an index", raw: `{"schemaVersion":2,"config":{}}`, labeled: types.OCIImageIndex, wantType: types.OCIManifestSchema1},
		{name: "image that lists manifests", raw: `{"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}`, wantErr: "refusing to guess"},
		{name: "not JSON", raw: `{`, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseManifest([]byte(tt.raw), d, tt.labeled)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseManifest = %+v, %v; want an error with %q", m, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := struct {
				Type  types.MediaType
				Index bool
				Kids  int
				Size  int64
			}{m.desc.MediaType, m.index, len(m.children), m.desc.Size}
			want := got
			want.Type, want.Index, want.Kids, want.Size = tt.wantType, tt.wantIndex, tt.wantKids, int64(len(tt.raw))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parseManifest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolveReadsAtOnce checks that the inputs, and the manifests an
// index lists, are read at once rather than one round trip after another,
// and still come out in input order, duplicates dropped.
func TestResolveReadsAtOnce(t *testing.T) {
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	var inFlight, peak atomic.Int32
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() && strings.Contains(r.URL.Path, "/manifests/") {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, children := pushIndex(t, host+"/multi:v1")
	var refs, want []string
	for i := range 8 {
		ref := fmt.Sprintf("%s/app:%d", host, i)
		d := registrytest.PushImage(t, ref)
		refs, want = append(refs, ref), append(want, host+"/app@"+d.String())
	}
	refs = append(refs, refs[0], host+"/multi:v1")
	slow.Store(true)
	got, err := Resolve(context.Background(), refs, true)
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, s := range got {
		digests = append(digests, s.Digest.String())
	}
	for _, d := range append([]v1.Hash{idx}, children...) {
		want = append(want, host+"/multi@"+d.String())
	}
	if diff := cmp.Diff(want, digests); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if p := peak.Load(); p < 4 {
		t.Errorf("at most %d manifests were read at once, want the inputs read together", p)
	}
}
