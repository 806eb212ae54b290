package job

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// faulty is an in-process registry that counts the writes it is sent and,
// once refuseAfter writes have passed (when it is not negative), refuses
// every later one with 403, as a registry over its quota does.
type faulty struct {
	host        string
	writes      atomic.Int64
	refuseAfter atomic.Int64
}

func newFaulty(t *testing.T, referrers bool) *faulty {
	t.Helper()
	f := &faulty{}
	f.refuseAfter.Store(-1)
	h := registrytest.Handler(referrers)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			n := f.writes.Add(1)
			if after := f.refuseAfter.Load(); after >= 0 && n > after {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"quota exceeded"}]}`, http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	f.host = u.Host
	return f
}

// structural stands in for the verifier in the promote tests: it reads
// what the registry of its options holds, through the stores, and passes
// an item whose certificate names the policy's identity and whose payload
// is about the subject, of the kind's predicate type, and accepted — every
// check but the cryptographic ones, which package verify's tests and the
// e2e tests (with the real verifier, at both ends) cover.
type structural struct {
	identity string
	accept   verify.Accept
	stores   map[sign.Format]store.Store
}

func newStructural(_ root.TrustedMaterial, p verify.Policy, accept verify.Accept, opts ...remote.Option) (checker, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	o := store.WithRemote(opts...)
	return &structural{identity: p.Identity, accept: accept,
		stores: map[sign.Format]store.Store{sign.Bundle: store.NewReferrer(o), sign.Legacy: store.NewTag(o)}}, nil
}

func (s *structural) Verify(ctx context.Context, subj registry.Subject, k payload.Kind, f sign.Format) (verify.Result, error) {
	res := verify.Result{Format: f, LogIndex: -1}
	items, err := s.stores[f].Read(ctx, subj.Digest, k)
	if err != nil {
		return res, err
	}
	if len(items) == 0 {
		res.Reasons = []string{"none found"}
	}
	for _, it := range items {
		pt, pred, err := s.check(subj, k, it)
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: %v", it.Location, err))
			continue
		}
		res.Verified, res.Location, res.Digest, res.Reasons, res.LogIndex = true, it.Location, it.Digest, nil, 1
		if k.PredicateType() != payload.SignPredicateType {
			res.PredicateType, res.Predicate = pt, pred
		}
		return res, nil
	}
	return res, nil
}

func (s *structural) check(subj registry.Subject, k payload.Kind, it store.Item) (string, json.RawMessage, error) {
	if it.Err != nil {
		return "", nil, it.Err
	}
	vm := it.Bundle.GetVerificationMaterial()
	der := vm.GetCertificate().GetRawBytes()
	if c := vm.GetX509CertificateChain().GetCertificates(); len(c) > 0 {
		der = c[0].GetRawBytes()
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", nil, err
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != s.identity {
		return "", nil, fmt.Errorf("signed by %v, not %s", cert.URIs, s.identity)
	}
	if it.Blob != nil {
		if k.PredicateType() != payload.SignPredicateType {
			return "", nil, fmt.Errorf("a signature, not a %s attestation", k.PredicateType())
		}
		_, err := payload.ParseSimpleSigning(it.Blob, subj.Digest)
		return payload.SignPredicateType, json.RawMessage(`{}`), err
	}
	d, err := payload.Decode(it.Bundle.GetDsseEnvelope().GetPayload())
	if err != nil {
		return "", nil, err
	}
	alg, hex, _ := strings.Cut(subj.Digest.DigestStr(), ":")
	if d.Digest[alg] != hex {
		return "", nil, fmt.Errorf("about %v, not %s", d.Digest, subj.Digest.DigestStr())
	}
	if d.PredicateType != k.PredicateType() {
		return "", nil, fmt.Errorf("predicate type %s, not %s", d.PredicateType, k.PredicateType())
	}
	if s.accept != nil {
		if err := s.accept(subj.Digest, d.PredicateType, d.Predicate); err != nil {
			return "", nil, err
		}
	}
	return d.PredicateType, d.Predicate, nil
}

// testPredicateType is the attestation the promote tests require.
const testPredicateType = "https://example.com/test/v1"

// storeSigned stores kind k of d, signed by identity, in format f the
// way keyless writes it: a bundle referrer, or a .sig or .att layer with
// cosign's annotations. Its signature and log entry are stand-ins, which
// the structural checker does not check.
func storeSigned(t *testing.T, d name.Digest, identity string, k payload.Kind, f sign.Format) {
	t.Helper()
	ctx := context.Background()
	subs, err := registry.Resolve(ctx, []string{d.String()}, false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Content(k, d)
	if err != nil {
		t.Fatal(err)
	}
	key := sigstoretest.NewKey(t)
	u, _ := url.Parse(identity)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute), URIs: []*url.URL{u}}
	cert := sigstoretest.Issue(t, tmpl, tmpl, &key.PublicKey, key)
	b := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex: 1, LogId: &protocommon.LogId{KeyId: []byte{1}}, IntegratedTime: time.Now().Unix(),
				KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
				InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: []byte("set")},
				CanonicalizedBody: []byte(`{"kind":"hashedrekord","apiVersion":"0.0.1"}`),
			}},
		},
	}
	if c.DSSE {
		b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: c.Data, PayloadType: payload.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: []byte("sig")}}}}
	} else {
		sum := sha256.Sum256(c.Data)
		b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]}, Signature: []byte("sig")}}
	}
	if _, err := st.Write(ctx, subs[0], k, c, b); err != nil {
		t.Fatal(err)
	}
}

// testAttestation is an attestation of testPredicateType.
func testAttestation(t *testing.T) payload.Kind {
	t.Helper()
	k, err := payload.NewCustom(testPredicateType, strings.NewReader(`{"tested":true}`))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signEverything signs d's signature and its test attestation, in both formats,
// as identity.
func signEverything(t *testing.T, d name.Digest, identity string) {
	t.Helper()
	for _, f := range []sign.Format{sign.Bundle, sign.Legacy} {
		storeSigned(t, d, identity, payload.Signature{}, f)
		storeSigned(t, d, identity, testAttestation(t), f)
	}
}

// promoteConfig promotes images to dst with the structural checker, in
// both formats, requiring the test attestation.
func promoteConfig(dst string, images ...string) Config {
	return Config{
		Images: images, Formats: []sign.Format{sign.Bundle, sign.Legacy},
		Policy: testPolicy, Trust: promoteTrust, AttestationTypes: []string{testPredicateType},
		Destination: Destination{Repository: dst},
		newChecker:  newStructural,
	}
}

// promoteTrust is a parseable trusted root: the structural checker does
// not read it.
var promoteTrust = trust.Config{TrustedRoot: trustedRoot}
