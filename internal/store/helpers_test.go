package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// writeLegacy appends a .sig layer for d, as cosign does.
func writeLegacy(ctx context.Context, d name.Digest, blob []byte, ann map[string]string) (name.Tag, error) {
	tag := TagOf(d, "sig")
	return tag, AppendLayer(ctx, tag, blob, SimpleSigningMediaType, ann)
}

// readLegacy reads the .sig layers of d.
func readLegacy(ctx context.Context, d name.Digest, opts ...remote.Option) ([]Raw, error) {
	return ReadLayers(ctx, TagOf(d, "sig"), SimpleSigningMediaType, registry.MaxBlobSize, nil, opts...)
}

// blobDigest is the digest of a blob as the registry names it.
func blobDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushed pushes a random image to the tag ref and resolves it as keyless
// does.
func pushed(t *testing.T, ref string) registry.Subject {
	t.Helper()
	registrytest.PushImage(t, ref)
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
	alg, h, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(map[string]any{
		"_type": payload.StatementType, "predicateType": a.PredicateType(),
		"subject":   []any{map[string]any{"digest": map[string]string{alg: h}}},
		"predicate": json.RawMessage(cmp.Or(a.predicate, `{"n":1}`)),
	})
}
