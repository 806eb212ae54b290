package sign_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
)

// testKind is a custom attestation kind: a small predicate.
type testKind struct{}

func (testKind) PredicateType() string { return "https://example.com/test/v1" }

func (k testKind) Statement(d name.Digest) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(map[string]any{
		"_type": payload.StatementType, "predicateType": k.PredicateType(),
		"subject":   []any{map[string]any{"digest": map[string]string{alg: hex}}},
		"predicate": map[string]any{"builder": "test"},
	})
}

// TestSignKindsInEveryStore signs an image signature and an attestation in
// both stores with one Signer: one certificate, each store's log, and what
// each store reads back is what was signed, where cosign keeps it.
func TestSignKindsInEveryStore(t *testing.T) {
	st := sigstoretest.New(t)
	subj := pushed(t)
	s := newSigner(t, st, token(t), sign.Bundle, sign.Legacy)
	ctx := context.Background()
	tagOf := func(suffix string) string {
		return subj.Digest.Context().Tag(strings.Replace(subj.Digest.DigestStr(), ":", "-", 1) + suffix).String()
	}
	type row struct {
		Format        sign.Format
		PredicateType string
		LogURL        string
		Tag           string // the location for the tag store; "referrer" for the other
		Read          string // what the store reads back: the statement's predicate type, or the signed blob's kind
	}
	var got []row
	for _, k := range []payload.Kind{payload.Signature{Annotations: map[string]string{"a": "b"}}, testKind{}} {
		for _, f := range []sign.Format{sign.Bundle, sign.Legacy} {
			sig, err := s.Sign(ctx, subj, k, f)
			if err != nil {
				t.Fatalf("Sign(%s, %s): %v", k.PredicateType(), f, err)
			}
			loc := sig.Location
			if f == sign.Bundle {
				if !strings.Contains(loc, "@sha256:") {
					t.Errorf("bundle location %s is not a referrer digest", loc)
				}
				loc = "referrer"
			}
			r := row{Format: sig.Format, PredicateType: sig.PredicateType, LogURL: sig.LogURL, Tag: loc}
			stor, err := store.New(f)
			if err != nil {
				t.Fatal(err)
			}
			items, err := stor.Read(ctx, subj.Digest, k)
			if err != nil || len(items) != 1 || items[0].Err != nil {
				t.Fatalf("Read(%s, %s) = %+v, %v; want one item", k.PredicateType(), f, items, err)
			}
			if env := items[0].Bundle.GetDsseEnvelope(); env != nil {
				d, err := payload.Decode(env.GetPayload())
				if err != nil {
					t.Fatal(err)
				}
				r.Read = d.PredicateType
			} else if _, err := payload.ParseSimpleSigning(items[0].Blob, subj.Digest); err == nil {
				r.Read = payload.SimpleSigningType
			}
			got = append(got, r)
		}
	}
	const att = "https://example.com/test/v1"
	want := []row{
		{sign.Bundle, "", st.RekorURL, "referrer", payload.SignPredicateType},
		{sign.Legacy, "", st.RekorV1URL, tagOf(".sig"), payload.SimpleSigningType},
		{sign.Bundle, att, st.RekorURL, "referrer", att},
		{sign.Legacy, att, st.RekorV1URL, tagOf(".att"), att},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signed and read back (-want +got):\n%s", diff)
	}
	if len(st.Certificates) != 1 {
		t.Errorf("certificates = %d, want one for the run", len(st.Certificates))
	}

	// Each kind reads only its own: the signature kind finds no
	// attestation among the referrers, and the other way round.
	for _, k := range []payload.Kind{payload.Signature{}, testKind{}} {
		items, err := store.NewReferrer().Read(ctx, subj.Digest, k)
		if err != nil || len(items) != 1 {
			t.Errorf("Referrer.Read(%s) = %d items, %v; want its one", k.PredicateType(), len(items), err)
		}
	}

	// The .att layer is cosign attest's: the DSSE envelope JSON under
	// cosign's annotations, with an empty message signature.
	ref, err := name.ParseReference(tagOf(".att"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := img.Manifest()
	if err != nil || len(mf.Layers) != 1 {
		t.Fatalf(".att manifest = %+v, %v; want one layer", mf, err)
	}
	l := mf.Layers[0]
	var keys []string
	for k := range l.Annotations {
		keys = append(keys, k)
	}
	wantKeys := []string{store.AnnotationSignature, store.AnnotationCertificate, store.AnnotationBundle, store.AnnotationTimestamp, store.AnnotationPredicate}
	if diff := cmp.Diff(wantKeys, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf(".att layer annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{string(store.DSSEMediaType), "", att}, []string{string(l.MediaType), l.Annotations[store.AnnotationSignature], l.Annotations[store.AnnotationPredicate]}); diff != "" {
		t.Errorf(".att layer [media type, signature, predicateType] (-want +got):\n%s", diff)
	}

	// Its RFC 3161 timestamp covers the layer, the whole envelope, as cosign
	// v2 verifies an attestation's timestamp; not the DSSE signature.
	var ann struct{ SignedRFC3161Timestamp []byte }
	if err := json.Unmarshal([]byte(l.Annotations[store.AnnotationTimestamp]), &ann); err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.ParseResponse(ann.SignedRFC3161Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	blob, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(blob); !bytes.Equal(ts.HashedMessage, sum[:]) {
		t.Errorf("the .att timestamp covers %x, not the layer (%x)", ts.HashedMessage, sum)
	}
}
