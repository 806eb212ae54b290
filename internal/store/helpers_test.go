package store

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
)

// newRegistry starts an in-process registry and returns its host:port.
// With referrers, the registry serves the OCI 1.1 referrers API; without,
// clients fall back to the sha256-<hex> tag schema.
func newRegistry(t *testing.T, referrers bool) string {
	t.Helper()
	var h http.Handler = ggcr.New(ggcr.WithReferrersSupport(referrers), ggcr.Logger(log.New(io.Discard, "", 0)))
	if referrers {
		h = specArtifactType(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// specArtifactType makes the fake registry's referrers API follow the OCI
// distribution spec: a descriptor's artifactType is the manifest's
// artifactType when it has one (ggcr's registry always uses
// config.mediaType, which real registries do not).
func specArtifactType(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before, _, ok := strings.Cut(r.URL.Path, "/referrers/")
		if r.Method != http.MethodGet || !ok {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var im v1.IndexManifest
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &im) != nil {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		for i, d := range im.Manifests {
			mrec := httptest.NewRecorder()
			h.ServeHTTP(mrec, httptest.NewRequest(http.MethodGet, before+"/manifests/"+d.Digest.String(), nil))
			var m struct {
				ArtifactType string `json:"artifactType"`
			}
			if json.Unmarshal(mrec.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				im.Manifests[i].ArtifactType = m.ArtifactType
			}
		}
		b, _ := json.Marshal(im)
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		_, _ = w.Write(b)
	})
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// pushImage pushes a random image to ref and returns its digest.
func pushImage(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, ref), img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// jsonBytes is a bundle-like JSON document, distinct per n.
func jsonBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeLegacy appends a .sig layer for d, as cosign does.
func writeLegacy(ctx context.Context, d name.Digest, blob []byte, ann map[string]string) (name.Tag, error) {
	tag := TagOf(d, "sig")
	return tag, AppendLayer(ctx, tag, blob, SimpleSigningMediaType, ann)
}

// readLegacy reads the .sig layers of d.
func readLegacy(ctx context.Context, d name.Digest, opts ...remote.Option) ([]Raw, error) {
	return ReadLayers(ctx, TagOf(d, "sig"), SimpleSigningMediaType, registry.MaxBlobSize, nil, opts...)
}

// resolveOne resolves one tag to its Subject.
func resolveOne(t *testing.T, ref string) registry.Subject {
	t.Helper()
	subs, err := registry.Resolve(context.Background(), []string{ref}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 {
		t.Fatalf("Resolve(%s) = %d subjects, want 1", ref, len(subs))
	}
	return subs[0]
}

// rawManifest is a manifest put as given.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// attestation is a custom kind for the tests: a small predicate.
type attestation struct{ predicate string }

func (attestation) PredicateType() string { return "https://example.com/test/v1" }

func (a attestation) Statement(d name.Digest) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(map[string]any{
		"_type": payload.StatementType, "predicateType": a.PredicateType(),
		"subject":   []any{map[string]any{"digest": map[string]string{alg: hex}}},
		"predicate": json.RawMessage(cmp.Or(a.predicate, `{"n":1}`)),
	})
}
