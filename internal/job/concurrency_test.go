package job

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/store"
)

// TestRegistrySetupOncePerRepository checks that a run pings a repository
// and exchanges its token once for reads, once for manifest writes and
// once for blob uploads, however many signatures it writes and reads
// there, and never has more requests in flight than registryRequestsMax.
func TestRegistrySetupOncePerRepository(t *testing.T) {
	var pings, inFlight, peak atomic.Int32
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			pings.Add(1)
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond)
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	c := Config{}
	c.defaults()
	opts, err := c.remote()
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := c.blobs()
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewReferrer(store.WithRemote(opts...), store.WithBlobs(blobs))
	ctx := context.Background()
	var subjects []registry.Subject
	for i := range 40 {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag(host + "/app:" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil { // not through the run's options
			t.Fatal(err)
		}
		desc, err := partial.Descriptor(img)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, registry.Subject{Digest: ref.Context().Digest(desc.Digest.String()), Descriptor: *desc})
	}
	pings.Store(0)
	peak.Store(0)
	forEach(c.Concurrency, len(subjects), func(i int) {
		s := subjects[i]
		b := &protobundle.Bundle{MediaType: store.BundleMediaType, Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{Payload: []byte(s.Digest.String())}}}
		if _, err := st.Write(ctx, s, payload.Signature{}, store.Content{}, b); err != nil {
			t.Error(err)
		}
		if got, err := store.ReadReferrers(ctx, s.Digest, "", registry.MaxBlobSize, opts...); err != nil || len(got) != 1 {
			t.Errorf("ReadBundles = %d bundles, %v; want 1", len(got), err)
		}
	})
	if got := pings.Load(); got != 3 {
		t.Errorf("the registry was pinged %d times for 40 writes and reads in one repository, want 3 (the pusher, the puller, the blob uploader)", got)
	}
	if got := peak.Load(); got > registryRequestsMax {
		t.Errorf("%d registry requests were in flight at once, want at most %d", got, registryRequestsMax)
	}
}

// TestWarmSetsUpWrites checks that warming a repository makes the pings
// of the pusher and the blob uploader ahead of the first write, so that a
// write after it makes none; warming again makes none either.
func TestWarmSetsUpWrites(t *testing.T) {
	for _, tc := range []struct {
		name      string
		warm      bool
		wantPings [2]int // while warming, while writing
	}{
		{"warmed", true, [2]int{2, 0}},
		{"cold", false, [2]int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pings atomic.Int32
			reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					pings.Add(1)
				}
				reg.ServeHTTP(w, r)
			}))
			defer srv.Close()
			ref, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
			if err != nil {
				t.Fatal(err)
			}
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			desc, err := partial.Descriptor(img)
			if err != nil {
				t.Fatal(err)
			}
			s := registry.Subject{Digest: ref.Context().Digest(desc.Digest.String()), Descriptor: *desc}
			c := Config{}
			c.defaults()
			opts, err := c.remote()
			if err != nil {
				t.Fatal(err)
			}
			blobs, err := c.blobs()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			pings.Store(0)
			if tc.warm {
				c.svc.warm(ctx, ref.Context())
				c.svc.warm(ctx, ref.Context())
			}
			var got [2]int
			got[0] = int(pings.Swap(0))
			st := store.NewReferrer(store.WithRemote(opts...), store.WithBlobs(blobs))
			b := &protobundle.Bundle{MediaType: store.BundleMediaType, Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{Payload: []byte("x")}}}
			if _, err := st.Write(ctx, s, payload.Signature{}, store.Content{}, b); err != nil {
				t.Fatal(err)
			}
			got[1] = int(pings.Load())
			if diff := cmp.Diff(tc.wantPings, got); diff != "" {
				t.Errorf("pings [warming, writing] (-want +got):\n%s", diff)
			}
		})
	}
}
