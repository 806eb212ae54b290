package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/registry"
)

// blobRegistry is an in-process registry that logs each request as
// "METHOD kind" and lets a test answer the PUT of an upload in its stead.
type blobRegistry struct {
	mu    sync.Mutex
	log   []string
	down  int                                                               // pings to refuse with 503 before answering
	onPut func(w http.ResponseWriter, r *http.Request, forward func()) bool // true: answered
	repo  name.Repository
}

func newBlobRegistry(t *testing.T) *blobRegistry {
	t.Helper()
	b := &blobRegistry{}
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "ping"
		switch {
		case strings.Contains(r.URL.Path, "/blobs/uploads/"):
			kind = "upload"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blob"
		}
		b.mu.Lock()
		b.log = append(b.log, r.Method+" "+kind)
		onPut, down := b.onPut, kind == "ping" && b.down > 0
		if down {
			b.down--
		}
		b.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPut && kind == "upload" && onPut != nil &&
			onPut(w, r, func() { reg.ServeHTTP(httptest.NewRecorder(), r) }) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/demo/app")
	if err != nil {
		t.Fatal(err)
	}
	b.repo = repo
	return b
}

// requests returns the requests since the last call.
func (b *blobRegistry) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.log
	b.log = nil
	return out
}

// has reports whether the registry serves blob data under its digest.
func (b *blobRegistry) has(t *testing.T, data []byte) bool {
	t.Helper()
	d, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	l, err := remote.Layer(b.repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return false
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	return err == nil && string(got) == string(data)
}

func TestBlobsUpload(t *testing.T) {
	ctx := context.Background()
	reg := newBlobRegistry(t)
	blobs := registry.NewBlobs(authn.DefaultKeychain, nil)
	steps := []struct {
		name  string
		data  string
		fresh bool
		want  []string
	}{
		{"a new blob: the ping, then two requests", "sig-1", true, []string{"GET ping", "POST upload", "PUT upload"}},
		{"another new blob: two requests", "sig-2", true, []string{"POST upload", "PUT upload"}},
		{"the same blob again: none", "sig-2", true, nil},
		{"a shared blob not yet there: asked, then uploaded", "{}", false, []string{"HEAD blob", "POST upload", "PUT upload"}},
		{"the shared blob again: none", "{}", false, nil},
	}
	for _, s := range steps {
		if _, err := blobs.Upload(ctx, reg.repo, []byte(s.data), s.fresh); err != nil {
			t.Fatalf("%s: Upload() error = %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, reg.requests()); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", s.name, diff)
		}
	}
	// A shared blob another run put there is asked about, not uploaded.
	other := registry.NewBlobs(authn.DefaultKeychain, nil)
	if _, err := other.Upload(ctx, reg.repo, []byte("{}"), false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET ping", "HEAD blob"}, reg.requests()); diff != "" {
		t.Errorf("another run's shared blob: requests (-want +got):\n%s", diff)
	}
}

func TestBlobsUploadFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		onPut   func(w http.ResponseWriter, forward func())
		wantErr string // empty: the blob is uploaded
	}{
		{"the PUT's answer is lost: the blob is there", func(w http.ResponseWriter, forward func()) {
			forward()
			http.Error(w, "lost", http.StatusBadGateway)
		}, ""},
		{"the session is lost: uploaded again", func(w http.ResponseWriter, forward func()) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]}`)
		}, ""},
		{"a refusal: not redone", func(w http.ResponseWriter, forward func()) {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"no pushing here"}]}`)
		}, "no pushing here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newBlobRegistry(t)
			puts := 0
			reg.onPut = func(w http.ResponseWriter, r *http.Request, forward func()) bool {
				puts++
				if puts > 1 {
					return false
				}
				tc.onPut(w, forward)
				return true
			}
			data := []byte("signature of " + tc.name)
			_, err := registry.NewBlobs(authn.DefaultKeychain, nil).Upload(context.Background(), reg.repo, data, true)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), reg.repo.String()) {
					t.Fatalf("Upload() error = %v, want one naming the repository and containing %q", err, tc.wantErr)
				}
				if puts != 1 {
					t.Errorf("a refused upload was sent %d times, want once", puts)
				}
				reg.onPut = nil
				if reg.has(t, data) {
					t.Error("a refused blob is in the registry")
				}
				return
			}
			if err != nil {
				t.Fatalf("Upload() error = %v", err)
			}
			reg.onPut = nil
			if !reg.has(t, data) {
				t.Error("the blob is not in the registry")
			}
		})
	}
}

// TestBlobsSetupFailureIsNotKept checks that a repository whose setup
// (ping, token) failed is set up again by the next upload.
func TestBlobsSetupFailureIsNotKept(t *testing.T) {
	reg := newBlobRegistry(t)
	reg.down = 1
	blobs := registry.NewBlobs(authn.DefaultKeychain, nil)
	if _, err := blobs.Upload(context.Background(), reg.repo, []byte("a"), true); err == nil {
		t.Fatal("Upload() with the registry down succeeded")
	}
	if _, err := blobs.Upload(context.Background(), reg.repo, []byte("a"), true); err != nil {
		t.Fatalf("Upload() once the registry is back: %v", err)
	}
	if !reg.has(t, []byte("a")) {
		t.Error("the blob is not in the registry")
	}
}

// TestBlobsUploadAtOnce checks that the same blob uploaded to the same
// repository by many signatures at once goes up once: the empty config
// of a run's referrers is asked about once, not once per image.
func TestBlobsUploadAtOnce(t *testing.T) {
	reg := newBlobRegistry(t)
	blobs := registry.NewBlobs(authn.DefaultKeychain, nil)
	if _, err := blobs.Upload(context.Background(), reg.repo, []byte("sig"), true); err != nil { // the ping
		t.Fatal(err)
	}
	reg.requests()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := blobs.Upload(context.Background(), reg.repo, []byte("{}"), false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff([]string{"HEAD blob", "POST upload", "PUT upload"}, reg.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
