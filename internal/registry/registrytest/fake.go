package registrytest

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Served is one response of a Fake registry.
type Served struct {
	Body       []byte
	MediaType  types.MediaType
	WithLength bool // send Content-Length; else the body is chunked
	// Redirect, when set, is where the registry sends a request instead:
	// it answers 307 Temporary Redirect with this path.
	Redirect string
	// Sent, when not nil, counts the body bytes written to clients.
	Sent *atomic.Int64
}

// Fake starts a registry that serves the given paths and 404 for
// everything else, and returns its host:port; it stops when t ends. When
// missed is not nil, it counts the manifest requests answered with 404.
func Fake(t testing.TB, paths map[string]Served, missed *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return // the ping
		}
		s, ok := paths[r.URL.Path]
		if !ok {
			if missed != nil && strings.Contains(r.URL.Path, "/manifests/") {
				missed.Add(1)
			}
			http.NotFound(w, r)
			return
		}
		if s.Redirect != "" {
			http.Redirect(w, r, s.Redirect, http.StatusTemporaryRedirect)
			return
		}
		sum := sha256.Sum256(s.Body)
		w.Header().Set("Content-Type", string(s.MediaType))
		w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", sum))
		if s.WithLength || r.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(s.Body)))
		}
		if r.Method == http.MethodGet {
			write(w, s.Body, s.Sent)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// write writes body in small pieces, counting each into sent, so that
// sent tells how much a client read before it stopped.
func write(w http.ResponseWriter, body []byte, sent *atomic.Int64) {
	for len(body) > 0 {
		n, err := w.Write(body[:min(len(body), 32<<10)])
		if sent != nil {
			sent.Add(int64(n))
		}
		if err != nil {
			return
		}
		body = body[n:]
	}
}

// Descriptors returns n distinct descriptors of the given media type,
// each with an annotation as large as a real cosign signature's when
// annotation is not empty.
func Descriptors(n int, mt types.MediaType, annotation string) []v1.Descriptor {
	out := make([]v1.Descriptor, n)
	sig := strings.Repeat("A", 96)
	for i := range out {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		out[i] = v1.Descriptor{MediaType: mt, Size: 300, Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}}
		if annotation != "" {
			out[i].Annotations = map[string]string{annotation: sig}
		}
	}
	return out
}
