package store

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// TestTagReadCaps: an attestation may be far larger than a signature (an
// SBOM of 16 MiB is about 22 MiB in its envelope): the .att read takes it,
// up to MaxAttestationSize, while a .sig layer keeps MaxBlobSize.
func TestTagReadCaps(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		kind    payload.Kind
		size    int
		wantErr string
	}{
		{"attestation over MaxBlobSize is read", attestation{}, 2 * registry.MaxBlobSize, ""},
		{"attestation over MaxAttestationSize is refused", attestation{}, registry.MaxAttestationSize + 1, "limit"},
		{"signature over MaxBlobSize is refused", payload.Signature{}, registry.MaxBlobSize + 1, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := registrytest.New(t, false)
			s := pushed(t, host+"/app:v1")
			mt := SimpleSigningMediaType
			if tc.kind.PredicateType() != payload.SignPredicateType {
				mt = DSSEMediaType
			}
			blob := bytes.Repeat([]byte("a"), tc.size)
			if err := AppendLayer(ctx, TagFor(s.Digest, tc.kind), blob, mt, nil); err != nil {
				t.Fatal(err)
			}
			items, err := NewTag().Read(ctx, s.Digest, tc.kind)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read = %d items, %v; want an error with %q", len(items), err, tc.wantErr)
				}
				return
			}
			// Read, then refused as no envelope: a failure reason, not an error.
			if err != nil || len(items) != 1 || items[0].Err == nil {
				t.Fatalf("Read = %+v, %v; want one unparsable item", items, err)
			}
		})
	}
}

// TestTagReadFiltersPredicateType: .att layers labelled with another
// predicate type are skipped before their blob is read; unlabelled ones
// are read (the verifier checks the signed type).
func TestTagReadFiltersPredicateType(t *testing.T) {
	ctx := context.Background()
	host := registrytest.New(t, false)
	s := pushed(t, host+"/app:v1")
	tag := TagFor(s.Digest, attestation{})
	for _, ann := range []map[string]string{
		{AnnotationPredicate: attestation{}.PredicateType()},
		{AnnotationPredicate: "https://example.com/other"},
		nil,
	} {
		if err := AppendLayer(ctx, tag, []byte("{}"), DSSEMediaType, ann); err != nil {
			t.Fatal(err)
		}
	}
	items, err := NewTag().Read(ctx, s.Digest, attestation{})
	if err != nil || len(items) != 2 {
		t.Errorf("Read = %d items, %v; want the labelled one and the unlabelled one", len(items), err)
	}
}
