package store

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// counting counts the requests that reach the registry, by method and
// path kind.
type counting struct {
	rt        http.RoundTripper
	all       atomic.Int64
	referrers atomic.Int64
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.all.Add(1)
	if isReferrers(req.URL.Path) {
		c.referrers.Add(1)
	}
	return c.rt.RoundTrip(req)
}

func isReferrers(path string) bool {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' {
			return len(path[:i]) >= 10 && path[i-10:i] == "/referrers"
		}
	}
	return false
}

// runOpts are the registry options of one run, built as package job
// builds them: one transport, one puller and one pusher, and the blob
// uploader on the same transport.
func runOpts(t *testing.T, c *counting, cache bool) ([]remote.Option, *registry.Blobs) {
	t.Helper()
	var rt http.RoundTripper = c
	if cache {
		rt = registry.ReferrersTransport(rt)
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(registry.LimitTransport(rt))}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		t.Fatal(err)
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return append(opts, remote.Reuse(puller), remote.Reuse(pusher)), registry.NewBlobs(authn.DefaultKeychain, registry.LimitTransport(c))
}

// signImage does what a sign run does per image and format: look for a
// signature to reuse, write one, read it back.
func signImage(ctx context.Context, subject registry.Subject, f Format, st *Referrer, opts []remote.Option, blobs *registry.Blobs) error {
	read := func() (int, error) {
		if f == Bundle {
			r, err := st.Read(ctx, subject.Digest, payload.Signature{})
			return len(r), err
		}
		r, err := ReadLayers(ctx, TagOf(subject.Digest, "sig"), SimpleSigningMediaType, registry.MaxBlobSize, nil, opts...)
		return len(r), err
	}
	if n, err := read(); err != nil || n != 0 {
		return fmt.Errorf("reuse check: %d, %v", n, err)
	}
	blob := []byte(fmt.Sprintf(`{"image":%q}`, subject.Digest))
	var err error
	if f == Bundle {
		_, err = st.Write(ctx, subject, payload.Signature{}, Content{}, &protobundle.Bundle{
			MediaType: BundleMediaType,
			Content:   &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{Payload: blob}},
		})
	} else {
		err = appendLayer(ctx, blobs, TagOf(subject.Digest, "sig"), blob, SimpleSigningMediaType, nil, opts...)
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if n, err := read(); err != nil || n != 1 {
		return fmt.Errorf("read-back: %d, %v", n, err)
	}
	return nil
}

// perImage returns the registry requests, and those to the referrers
// API, of one image after the first (which pays the ping, the token and
// the first probe).
func perImage(t *testing.T, referrersAPI bool, f Format, cache bool) (all, referrers int64) {
	t.Helper()
	ctx := context.Background()
	host := registrytest.New(t, referrersAPI)
	const n = 4
	var subjects []registry.Subject
	for i := range n {
		subjects = append(subjects, pushed(t, fmt.Sprintf("%s/app:v%d", host, i)))
	}
	c := &counting{rt: http.DefaultTransport}
	opts, blobs := runOpts(t, c, cache)
	st := NewReferrer(WithRemote(opts...), WithBlobs(blobs))
	if err := signImage(ctx, subjects[0], f, st, opts, blobs); err != nil {
		t.Fatalf("%s, first image: %v", f, err)
	}
	all0, ref0 := c.all.Load(), c.referrers.Load()
	for _, s := range subjects[1:] {
		if err := signImage(ctx, s, f, st, opts, blobs); err != nil {
			t.Fatalf("%s, %s: %v", f, s.Digest, err)
		}
	}
	return (c.all.Load() - all0) / (n - 1), (c.referrers.Load() - ref0) / (n - 1)
}

// TestRequestsPerImage bounds the registry requests a sign run makes per
// image and format (reuse check, write, read-back): a registry without the
// referrers API is asked about it once per run, one with it on every read.
func TestRequestsPerImage(t *testing.T) {
	for _, tt := range []struct {
		name         string
		referrersAPI bool
		format       Format
		max          int64 // all requests
		referrers    int64 // to the referrers API
	}{
		// Before: 14 (3 to the referrers API), 10 (3), 14; then, with the
		// probe memory, 11, 10 (3), 13; then, fresh blobs skipping their
		// HEAD, 10, 9 (3), 11; now each blob is uploaded in two requests.
		{"bundle, no referrers API", false, Bundle, 9, 0},
		{"bundle, referrers API", true, Bundle, 8, 3},
		{"legacy", false, Legacy, 9, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeRef := perImage(t, tt.referrersAPI, tt.format, false)
			all, ref := perImage(t, tt.referrersAPI, tt.format, true)
			t.Logf("requests per image: %d (%d to the referrers API), without the probe memory %d (%d)", all, ref, before, beforeRef)
			if all > tt.max {
				t.Errorf("requests per image = %d, want at most %d", all, tt.max)
			}
			if ref != tt.referrers {
				t.Errorf("referrers API requests per image = %d, want %d", ref, tt.referrers)
			}
		})
	}
}
