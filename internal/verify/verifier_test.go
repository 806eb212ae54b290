package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sigstoretest"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/verify"
)

const (
	demoIdentity = "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main"
	evilIdentity = "https://github.com/keyless-dev/demo-evil/.github/workflows/release.yml@refs/heads/main"
	githubIssuer = "https://token.actions.githubusercontent.com"
	slsaType     = "https://slsa.dev/provenance/v1"
)

var demoPolicy = verify.Policy{Identity: demoIdentity, Issuer: githubIssuer}

// fulcioCA is a Fulcio-like CA whose intermediate key the test holds, so it
// can issue leaf certificates with any identity and validity.
type fulcioCA struct {
	ca  *root.FulcioCertificateAuthority
	key *ecdsa.PrivateKey
}

var (
	newKey  = sigstoretest.NewKey
	newCert = sigstoretest.Issue
)

func newFulcioCA(t *testing.T, cn string) fulcioCA {
	t.Helper()
	now := time.Now()
	rootKey, intKey := newKey(t), newKey(t)
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn + " root"},
		NotBefore: now.Add(-5 * time.Hour), NotAfter: now.Add(5 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootCert := newCert(t, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	intCert := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn + " intermediate"},
		NotBefore: now.Add(-5 * time.Hour), NotAfter: now.Add(5 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true, IsCA: true,
	}, rootCert, &intKey.PublicKey, rootKey)
	return fulcioCA{
		ca: &root.FulcioCertificateAuthority{
			Root: rootCert, Intermediates: []*x509.Certificate{intCert},
			ValidityPeriodStart: now.Add(-5 * time.Hour), ValidityPeriodEnd: now.Add(time.Hour),
			URI: "https://" + cn + ".fulcio.test",
		},
		key: intKey,
	}
}

// leaf issues a Fulcio-style certificate (URI SAN, issuer in the v1 and v2
// extensions, no SCT) valid for ten minutes from notBefore.
func (c fulcioCA) leaf(t *testing.T, identity, issuer string, notBefore time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	u, err := url.Parse(identity)
	if err != nil {
		t.Fatal(err)
	}
	issuerV2, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	cert := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    notBefore, NotAfter: notBefore.Add(10 * time.Minute),
		URIs:        []*url.URL{u},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(issuer)},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		},
	}, c.ca.Intermediates[0], &k.PublicKey, c.key)
	return cert, k
}

// trusted is the trusted root a test verifies against.
type trusted struct {
	fulcio []root.CertificateAuthority
	tsa    []root.TimestampingAuthority
	rekor  map[string]*root.TransparencyLog
	ctlogs map[string]*root.TransparencyLog
}

func (m trusted) FulcioCertificateAuthorities() []root.CertificateAuthority { return m.fulcio }
func (m trusted) TimestampingAuthorities() []root.TimestampingAuthority     { return m.tsa }
func (m trusted) RekorLogs() map[string]*root.TransparencyLog               { return m.rekor }
func (m trusted) CTLogs() map[string]*root.TransparencyLog                  { return m.ctlogs }
func (m trusted) PublicKeyVerifier(string) (root.TimeConstrainedVerifier, error) {
	return nil, errors.New("keyless verifies certificates only")
}

// transparencyLog is a log entry in the trusted root for key.
func transparencyLog(t *testing.T, key *ecdsa.PrivateKey, baseURL string) (string, *root.TransparencyLog) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	return hex.EncodeToString(id[:]), &root.TransparencyLog{
		BaseURL: baseURL, ID: id[:], HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256, PublicKey: &key.PublicKey,
		ValidityPeriodStart: time.Now().Add(-5 * time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour),
	}
}

// tsa is an RFC 3161 timestamping authority: root, intermediate, leaf.
type tsa struct {
	ca  *root.SigstoreTimestampingAuthority
	key *ecdsa.PrivateKey
}

func newTSA(t *testing.T, cn string) tsa {
	t.Helper()
	now := time.Now()
	rootKey, intKey, leafKey := newKey(t), newKey(t), newKey(t)
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn + " root"},
		NotBefore: now.Add(-5 * time.Hour), NotAfter: now.Add(5 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootCert := newCert(t, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	intCert := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn + " intermediate"},
		NotBefore: now.Add(-5 * time.Hour), NotAfter: now.Add(5 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		BasicConstraintsValid: true, IsCA: true,
	}, rootCert, &intKey.PublicKey, rootKey)
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	leaf := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: cn + " leaf"},
		NotBefore: now.Add(-5 * time.Hour), NotAfter: now.Add(5 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, intCert, &leafKey.PublicKey, intKey)
	return tsa{ca: &root.SigstoreTimestampingAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{intCert}, Leaf: leaf, URI: "https://" + cn + ".tsa.test",
		ValidityPeriodStart: now.Add(-5 * time.Hour), ValidityPeriodEnd: now.Add(time.Hour),
	}, key: leafKey}
}

// fake is an in-process Sigstore (a Rekor v1 log, a TSA and a Fulcio CA
// whose keys the test holds) and an in-process OCI registry.
type fake struct {
	rekorKey *ecdsa.PrivateKey
	rekorID  string
	rekor    *root.TransparencyLog
	tsa      tsa
	fulcio   fulcioCA
	host     string
	nimg     int
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{rekorKey: newKey(t), tsa: newTSA(t, "trusted"), fulcio: newFulcioCA(t, "trusted"), host: registrytest.New(t, false)}
	f.rekorID, f.rekor = transparencyLog(t, f.rekorKey, "https://"+rekorHost)
	return f
}

const rekorHost = "rekor.test"

// trust is the trusted root that accepts what f signs by default; it lists
// no CT log.
func (f *fake) trust() trusted {
	return trusted{
		fulcio: []root.CertificateAuthority{f.fulcio.ca},
		tsa:    []root.TimestampingAuthority{f.tsa.ca},
		rekor:  map[string]*root.TransparencyLog{f.rekorID: f.rekor},
	}
}

// subject pushes a fresh image and resolves it as keyless does.
func (f *fake) subject(t *testing.T) registry.Subject {
	t.Helper()
	f.nimg++
	tag := fmt.Sprintf("%s/keyless/app:v%d", f.host, f.nimg)
	registrytest.PushImage(t, tag)
	s, err := registry.Resolve(context.Background(), []string{tag}, false)
	if err != nil || len(s) != 1 {
		t.Fatalf("resolving %s: %v %v", tag, s, err)
	}
	return s[0]
}

// signer says how a signature is made.
type signer struct {
	ca               fulcioCA
	identity, issuer string
	notBefore        time.Time // of the certificate
	logTime          time.Time // integrated time of the Rekor entry
	noTimestamp      bool      // no RFC 3161 timestamp
}

func (f *fake) signer() signer {
	now := time.Now()
	return signer{ca: f.fulcio, identity: demoIdentity, issuer: githubIssuer, notBefore: now.Add(-time.Minute), logTime: now}
}

// signed is one signature with everything a bundle holds.
type signed struct {
	cert  *x509.Certificate
	msg   []byte // DSSE payload, or simple-signing payload (legacy)
	sig   []byte
	entry *protorekor.TransparencyLogEntry
	tsr   []byte
	// keepStamp stores tsr as it is, where storeAttestation would stamp
	// what the store says (an .att layer's envelope).
	keepStamp bool
}

func ecSign(t *testing.T, k *ecdsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func pae(payloadType string, msg []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(msg), msg)
}

func certPEM(c *x509.Certificate) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(c.Raw) + "\n-----END CERTIFICATE-----\n")
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

var logIndex int64 = 100

// logEntry logs body in the fake Rekor v1 at time at: an entry with a
// signed entry timestamp (unless noPromise) and an inclusion proof in a
// one-entry tree.
func (f *fake) logEntry(t *testing.T, kind string, body []byte, at time.Time) *protorekor.TransparencyLogEntry {
	t.Helper()
	logIndex++
	msg := registrytest.JSON(t, map[string]any{
		"body": base64.StdEncoding.EncodeToString(body), "integratedTime": at.Unix(), "logIndex": logIndex, "logID": f.rekorID,
	})
	canon, err := jsoncanonicalizer.Transform(msg)
	if err != nil {
		t.Fatal(err)
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	signer, err := signature.LoadECDSASignerVerifier(f.rekorKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint, err := util.CreateAndSignCheckpoint(context.Background(), rekorHost, 1, 1, leaf[:], signer)
	if err != nil {
		t.Fatal(err)
	}
	id, err := hex.DecodeString(f.rekorID)
	if err != nil {
		t.Fatal(err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:         logIndex,
		LogId:            &protocommon.LogId{KeyId: id},
		KindVersion:      &protorekor.KindVersion{Kind: kind, Version: "0.0.1"},
		IntegratedTime:   at.Unix(),
		InclusionPromise: &protorekor.InclusionPromise{SignedEntryTimestamp: ecSign(t, f.rekorKey, canon)},
		InclusionProof: &protorekor.InclusionProof{
			LogIndex: 0, RootHash: leaf[:], TreeSize: 1,
			Checkpoint: &protorekor.Checkpoint{Envelope: string(checkpoint)},
		},
		CanonicalizedBody: body,
	}
}

// logDSSE logs a dsse v0.0.1 entry for the envelope as it is, even with a
// bad signature: the virtual log, unlike Rekor, does not check it.
func (f *fake) logDSSE(t *testing.T, cert *x509.Certificate, msg, sig []byte, at time.Time) *protorekor.TransparencyLogEntry {
	t.Helper()
	env := registrytest.JSON(t, map[string]any{
		"payload": base64.StdEncoding.EncodeToString(msg), "payloadType": payload.InTotoPayloadType,
		"signatures": []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	body := registrytest.JSON(t, map[string]any{"apiVersion": "0.0.1", "kind": "dsse", "spec": map[string]any{
		"envelopeHash": map[string]any{"algorithm": "sha256", "value": hexSHA256(env)},
		"payloadHash":  map[string]any{"algorithm": "sha256", "value": hexSHA256(msg)},
		"signatures": []any{map[string]any{
			"signature": base64.StdEncoding.EncodeToString(sig),
			"verifier":  base64.StdEncoding.EncodeToString(certPEM(cert)),
		}},
	}})
	return f.logEntry(t, "dsse", body, at)
}

// logHashedRekord logs a hashedrekord v0.0.1 entry for a signature over
// payload, even a bad one.
func (f *fake) logHashedRekord(t *testing.T, cert *x509.Certificate, msg, sig []byte, at time.Time) *protorekor.TransparencyLogEntry {
	t.Helper()
	body := registrytest.JSON(t, map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data": map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hexSHA256(msg)}},
		"signature": map[string]any{
			"content":   base64.StdEncoding.EncodeToString(sig),
			"publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(certPEM(cert))},
		},
	}})
	return f.logEntry(t, "hashedrekord", body, at)
}

// timestamp is an RFC 3161 timestamp of sig by the TSA, now.
func (a tsa) timestamp(t *testing.T, sig []byte) []byte {
	t.Helper()
	return a.timestampAt(t, sig, time.Now())
}

// timestampAt is an RFC 3161 timestamp of sig by the TSA, dated at.
func (a tsa) timestampAt(t *testing.T, sig []byte, at time.Time) []byte {
	t.Helper()
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&timestamp.Timestamp{
		HashAlgorithm: parsed.HashAlgorithm, HashedMessage: parsed.HashedMessage, Time: at,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
	}).CreateResponseWithOpts(a.ca.Leaf, a.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (f *fake) timestamp(t *testing.T, sig []byte) []byte {
	t.Helper()
	return f.tsa.timestamp(t, sig)
}

// statement is an in-toto statement about digest ("sha256:…").
func statement(t *testing.T, digest, predicateType string) []byte {
	t.Helper()
	alg, hx, _ := strings.Cut(digest, ":")
	return registrytest.JSON(t, map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"digest": map[string]string{alg: hx}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{},
	})
}

// attest DSSE-signs statement, logs and timestamps the signature.
func (f *fake) attest(t *testing.T, s signer, stmt []byte) signed {
	t.Helper()
	cert, key := s.ca.leaf(t, s.identity, s.issuer, s.notBefore)
	sig := ecSign(t, key, pae(payload.InTotoPayloadType, stmt))
	out := signed{cert: cert, msg: stmt, sig: sig, entry: f.logDSSE(t, cert, stmt, sig, s.logTime)}
	if !s.noTimestamp {
		out.tsr = f.timestamp(t, sig)
	}
	return out
}

// signLegacy signs the simple-signing payload, logs and timestamps it.
func (f *fake) signLegacy(t *testing.T, s signer, msg []byte) signed {
	t.Helper()
	cert, key := s.ca.leaf(t, s.identity, s.issuer, s.notBefore)
	sig := ecSign(t, key, msg)
	out := signed{cert: cert, msg: msg, sig: sig, entry: f.logHashedRekord(t, cert, msg, sig, s.logTime)}
	if !s.noTimestamp {
		out.tsr = f.timestamp(t, sig)
	}
	return out
}

func (s signed) verificationMaterial() *protobundle.VerificationMaterial {
	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: s.cert.Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{s.entry},
	}
	if s.tsr != nil {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: s.tsr}},
		}
	}
	return vm
}

// bundleJSON is the v0.3 bundle cosign v3 and keyless store.
func (s signed) bundleJSON(t *testing.T) []byte {
	t.Helper()
	b, err := protojson.Marshal(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: s.verificationMaterial(),
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: s.msg, PayloadType: payload.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: s.sig}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func storeBundle(t *testing.T, subj registry.Subject, bundleJSON []byte) {
	t.Helper()
	if _, err := store.WriteReferrer(context.Background(), subj, bundleJSON, payload.SignPredicateType, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// legacyAnnotations converts s to cosign's legacy layer annotations with
// keyless's own converter.
func (s signed) legacyAnnotations(t *testing.T) map[string]string {
	t.Helper()
	h := sha256.Sum256(s.msg)
	ann, err := store.LegacyAnnotations(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: s.verificationMaterial(),
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: h[:]},
			Signature:     s.sig,
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ann
}

func storeLegacy(t *testing.T, subj registry.Subject, msg []byte, ann map[string]string) {
	t.Helper()
	if err := store.AppendLayer(context.Background(), store.TagOf(subj.Digest, "sig"), msg, store.SimpleSigningMediaType, ann); err != nil {
		t.Fatal(err)
	}
}

func simpleSigning(t *testing.T, d name.Digest) []byte {
	t.Helper()
	p, err := payload.Signature{}.SimpleSigning(d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// flip returns a copy of b with its last byte changed (the last byte of a
// DER ECDSA signature is inside s, so the signature still parses).
func flip(b []byte) []byte {
	out := append([]byte{}, b...)
	out[len(out)-1] ^= 0x01
	return out
}

func run(t *testing.T, tm root.TrustedMaterial, p verify.Policy, subj registry.Subject, f sign.Format) verify.Result {
	t.Helper()
	v, err := verify.New(tm, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), subj, payload.Signature{}, f)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A Verifier remembers what passed (the SCTs of a certificate): a
	// second verification must come out the same.
	again, err := v.Verify(context.Background(), subj, payload.Signature{}, f)
	if err != nil {
		t.Fatalf("Verify again: %v", err)
	}
	if diff := cmp.Diff(res, again); diff != "" {
		t.Errorf("second verification differs (-first +second):\n%s", diff)
	}
	return res
}

// TestVerifyAccepts shows that what the fake Sigstore makes verifies, so
// each rejection below is caused by the one thing its case changes.
func TestVerifyAccepts(t *testing.T) {
	f := newFake(t)
	oldCert := f.signer()
	oldCert.notBefore, oldCert.logTime, oldCert.noTimestamp = time.Now().Add(-30*time.Minute), time.Now().Add(-25*time.Minute), true
	for _, tc := range []struct {
		name   string
		format sign.Format
		signer signer
		policy verify.Policy
	}{
		{"bundle", sign.Bundle, f.signer(), demoPolicy},
		{"legacy", sign.Legacy, f.signer(), demoPolicy},
		{"anchored identity pattern", sign.Bundle, f.signer(), verify.Policy{IdentityRegexp: `https://github\.com/keyless-dev/demo/.*`, IssuerRegexp: `https://token\.actions\.githubusercontent\.com`}},
		{"expired certificate, logged while valid", sign.Bundle, oldCert, demoPolicy},
		{"expired certificate, logged while valid, legacy", sign.Legacy, oldCert, demoPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subj := f.subject(t)
			var s signed
			var blob []byte // what the store holds: the bundle, or the .sig layer
			if tc.format == sign.Bundle {
				s = f.attest(t, tc.signer, statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
				blob = s.bundleJSON(t)
				storeBundle(t, subj, blob)
			} else {
				blob = simpleSigning(t, subj.Digest)
				s = f.signLegacy(t, tc.signer, blob)
				storeLegacy(t, subj, blob, s.legacyAnnotations(t))
			}
			got := run(t, f.trust(), tc.policy, subj, tc.format)
			type summary struct {
				Verified bool
				SAN      string
				LogURL   string
				LogIndex int64
				Digest   string
				Reasons  []string
			}
			g := summary{Verified: got.Verified, LogURL: got.LogURL, LogIndex: got.LogIndex, Digest: got.Digest, Reasons: got.Reasons}
			if got.Certificate != nil {
				g.SAN = got.Certificate.SubjectAlternativeName
			}
			want := summary{Verified: true, SAN: demoIdentity, LogURL: "https://" + rekorHost, LogIndex: s.entry.LogIndex, Digest: "sha256:" + hexSHA256(blob)}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if got.SignedAt.IsZero() {
				t.Error("no signing time")
			}
		})
	}
}

// TestVerifyRejects covers issue 7: each case changes one thing in an
// otherwise valid signature and must be rejected with its reason.
func TestVerifyRejects(t *testing.T) {
	f := newFake(t)
	untrusted := newFulcioCA(t, "untrusted")
	now := time.Now()
	type storeFn func(t *testing.T, subj registry.Subject)
	// bundle stores a bundle signed by s over a cosign signature statement
	// for the subject, after change.
	bundle := func(s signer, change func(t *testing.T, b *signed)) storeFn {
		return func(t *testing.T, subj registry.Subject) {
			b := f.attest(t, s, statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
			if change != nil {
				change(t, &b)
			}
			storeBundle(t, subj, b.bundleJSON(t))
		}
	}
	legacy := func(s signer, change func(t *testing.T, sig *signed, ann map[string]string)) storeFn {
		return func(t *testing.T, subj registry.Subject) {
			msg := simpleSigning(t, subj.Digest)
			sig := f.signLegacy(t, s, msg)
			ann := sig.legacyAnnotations(t)
			if change != nil {
				change(t, &sig, ann)
			}
			storeLegacy(t, subj, sig.msg, ann)
		}
	}
	with := func(change func(*signer)) signer {
		s := f.signer()
		change(&s)
		return s
	}
	otherDigest := "sha256:" + strings.Repeat("ab", 32)

	for _, tc := range []struct {
		name   string
		format sign.Format
		store  storeFn
		trust  func() root.TrustedMaterial // nil: f.trust()
		policy *verify.Policy              // nil: demoPolicy
		want   []string                    // in the reason
	}{
		// 1. Tampered signature.
		{
			name: "DSSE signature flipped in the stored bundle", format: sign.Bundle,
			store: bundle(f.signer(), func(t *testing.T, b *signed) { b.sig = flip(b.sig) }),
			want:  []string{"transparency log signature does not match"},
		},
		{
			name: "DSSE signature flipped, and the flipped one logged and timestamped", format: sign.Bundle,
			store: bundle(f.signer(), func(t *testing.T, b *signed) {
				b.sig = flip(b.sig)
				b.entry = f.logDSSE(t, b.cert, b.msg, b.sig, now)
				b.tsr = f.timestamp(t, b.sig)
			}),
			want: []string{"failed to verify signature", "could not verify envelope"},
		},
		{
			name: "legacy signature annotation flipped", format: sign.Legacy,
			store: legacy(f.signer(), func(t *testing.T, s *signed, ann map[string]string) {
				ann[store.AnnotationSignature] = base64.StdEncoding.EncodeToString(flip(s.sig))
			}),
			want: []string{"transparency log signature does not match"},
		},
		{
			// A hashedrekord body carries the signature: parsing the entry
			// checks it, so the bad signature is caught before the log check.
			name: "legacy signature flipped, and the flipped one logged and timestamped", format: sign.Legacy,
			store: legacy(f.signer(), func(t *testing.T, s *signed, ann map[string]string) {
				s.sig = flip(s.sig)
				s.entry = f.logHashedRekord(t, s.cert, s.msg, s.sig, now)
				s.tsr = f.timestamp(t, s.sig)
				for k, v := range s.legacyAnnotations(t) {
					ann[k] = v
				}
			}),
			want: []string{"verifying signature: invalid signature"},
		},
		// 2. Payload for another digest.
		{
			name: "bundle whose statement names another digest, stored as a referrer of this one", format: sign.Bundle,
			store: func(t *testing.T, subj registry.Subject) {
				b := f.attest(t, f.signer(), statement(t, otherDigest, payload.SignPredicateType))
				storeBundle(t, subj, b.bundleJSON(t))
			},
			want: []string{"failed to verify signature", "artifact digest", "does not match"},
		},
		{
			name: "legacy msg naming another digest", format: sign.Legacy,
			store: func(t *testing.T, subj registry.Subject) {
				msg := simpleSigning(t, subj.Digest.Context().Digest(otherDigest))
				s := f.signLegacy(t, f.signer(), msg)
				storeLegacy(t, subj, msg, s.legacyAnnotations(t))
			},
			want: []string{"signature is for digest " + otherDigest + ", not sha256:"},
		},
		// 3. Transparency-log entry of another signature.
		{
			name: "bundle carrying the tlog entry of another bundle", format: sign.Bundle,
			store: bundle(f.signer(), func(t *testing.T, b *signed) {
				other := f.attest(t, f.signer(), statement(t, otherDigest, payload.SignPredicateType))
				b.entry = other.entry
			}),
			want: []string{"transparency log signature does not match"},
		},
		{
			name: "bundle carrying a tlog entry of its own signature under another certificate", format: sign.Bundle,
			store: bundle(f.signer(), func(t *testing.T, b *signed) {
				other, _ := f.fulcio.leaf(t, demoIdentity, githubIssuer, now.Add(-time.Minute))
				b.entry = f.logDSSE(t, other, b.msg, b.sig, now)
			}),
			want: []string{"transparency log certificate does not match"},
		},
		{
			name: "legacy signature with the dev.sigstore.cosign/bundle annotation of another signature", format: sign.Legacy,
			store: legacy(f.signer(), func(t *testing.T, s *signed, ann map[string]string) {
				other := f.signLegacy(t, f.signer(), []byte(`{"critical":{}}`))
				ann[store.AnnotationBundle] = other.legacyAnnotations(t)[store.AnnotationBundle]
			}),
			want: []string{"transparency log signature does not match"},
		},
		// 4. Untrusted CA.
		{
			name: "trusted root whose Fulcio CA is replaced by another", format: sign.Bundle,
			store: bundle(f.signer(), nil),
			trust: func() root.TrustedMaterial {
				tm := f.trust()
				tm.fulcio = []root.CertificateAuthority{untrusted.ca}
				return tm
			},
			want: []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		{
			name: "bundle with a certificate from a CA of its own, logged in the trusted log", format: sign.Bundle,
			store: bundle(with(func(s *signer) { s.ca = untrusted }), nil),
			want:  []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		{
			name: "legacy signature with a certificate from a CA of its own", format: sign.Legacy,
			store: legacy(with(func(s *signer) { s.ca = untrusted }), nil),
			want:  []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		// 5. Missing SCT: the certificates carry none, and this trusted root
		// lists a CT log.
		{
			name: "certificate without SCT, trusted root with a CT log", format: sign.Bundle,
			store: bundle(f.signer(), nil),
			trust: func() root.TrustedMaterial {
				tm := f.trust()
				id, ct := transparencyLog(t, newKey(t), "https://ct.test")
				tm.ctlogs = map[string]*root.TransparencyLog{id: ct}
				return tm
			},
			want: []string{"failed to verify signed certificate timestamp"},
		},
		{
			name: "legacy certificate without SCT, trusted root with a CT log", format: sign.Legacy,
			store: legacy(f.signer(), nil),
			trust: func() root.TrustedMaterial {
				tm := f.trust()
				id, ct := transparencyLog(t, newKey(t), "https://ct.test")
				tm.ctlogs = map[string]*root.TransparencyLog{id: ct}
				return tm
			},
			want: []string{"failed to verify signed certificate timestamp"},
		},
		// 6. Signing time outside the certificate's validity.
		{
			name: "logged after the certificate expired", format: sign.Bundle,
			store: bundle(with(func(s *signer) {
				s.notBefore, s.logTime, s.noTimestamp = now.Add(-30*time.Minute), now.Add(-10*time.Minute), true
			}), nil),
			want: []string{"integrated time outside certificate validity"},
		},
		{
			name: "logged before the certificate was valid", format: sign.Bundle,
			store: bundle(with(func(s *signer) {
				s.notBefore, s.logTime, s.noTimestamp = now.Add(10*time.Minute), now, true
			}), nil),
			want: []string{"integrated time outside certificate validity"},
		},
		{
			name: "legacy, logged after the certificate expired", format: sign.Legacy,
			store: legacy(with(func(s *signer) {
				s.notBefore, s.logTime, s.noTimestamp = now.Add(-30*time.Minute), now.Add(-10*time.Minute), true
			}), nil),
			want: []string{"integrated time outside certificate validity"},
		},
		{
			name: "logged while valid, but TSA timestamp after the certificate expired", format: sign.Bundle,
			// The log time is inside the validity; the RFC 3161 timestamp
			// (now) is 20 minutes after it ended.
			store: bundle(with(func(s *signer) {
				s.notBefore, s.logTime = now.Add(-30*time.Minute), now.Add(-25*time.Minute)
			}), nil),
			// TestVerifyAccepts shows the same certificate and log time
			// verify without the timestamp.
			want: []string{"failed to verify leaf certificate: leaf certificate verification failed"},
		},
		// 7. Look-alike identity.
		{
			name: "look-alike identity demo-evil, exact policy", format: sign.Bundle,
			store: bundle(with(func(s *signer) { s.identity = evilIdentity }), nil),
			want:  []string{"failed to verify certificate identity", evilIdentity},
		},
		{
			name: "look-alike identity demo-evil, prefix pattern (anchored by keyless)", format: sign.Bundle,
			store:  bundle(with(func(s *signer) { s.identity = evilIdentity }), nil),
			policy: &verify.Policy{IdentityRegexp: `https://github\.com/keyless-dev/demo`, Issuer: githubIssuer},
			want:   []string{"failed to verify certificate identity", evilIdentity},
		},
		{
			name: "look-alike identity demo-evil, legacy", format: sign.Legacy,
			store: legacy(with(func(s *signer) { s.identity = evilIdentity }), nil),
			want:  []string{"failed to verify certificate identity", evilIdentity},
		},
		// 8. Issuer with a trailing slash.
		{
			name: "policy issuer with a trailing slash", format: sign.Bundle,
			store:  bundle(f.signer(), nil),
			policy: &verify.Policy{Identity: demoIdentity, Issuer: githubIssuer + "/"},
			want:   []string{"failed to verify certificate identity", githubIssuer + "/"},
		},
		{
			name: "certificate issuer with a trailing slash", format: sign.Bundle,
			store: bundle(with(func(s *signer) { s.issuer = githubIssuer + "/" }), nil),
			want:  []string{"failed to verify certificate identity", githubIssuer + "/"},
		},
		// Attestations are not signatures.
		{
			name: "SLSA provenance attestation attached as a referrer", format: sign.Bundle,
			store: func(t *testing.T, subj registry.Subject) {
				b := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), slsaType))
				storeBundle(t, subj, b.bundleJSON(t))
			},
			want: []string{"bundle is an attestation, not a signature"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subj := f.subject(t)
			tc.store(t, subj)
			tm := root.TrustedMaterial(f.trust())
			if tc.trust != nil {
				tm = tc.trust()
			}
			p := demoPolicy
			if tc.policy != nil {
				p = *tc.policy
			}
			got := run(t, tm, p, subj, tc.format)
			if got.Verified || got.Certificate != nil || got.LogIndex != -1 {
				t.Errorf("verified %v, certificate %v, log index %d; want not verified", got.Verified, got.Certificate, got.LogIndex)
			}
			if len(got.Reasons) != 1 {
				t.Fatalf("reasons %q, want one", got.Reasons)
			}
			if !strings.HasPrefix(got.Reasons[0], subj.Digest.Context().String()) {
				t.Errorf("reason %q does not name where the signature was read", got.Reasons[0])
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Reasons[0], w) {
					t.Errorf("reason lacks %q:\n%s", w, got.Reasons[0])
				}
			}
		})
	}
}

// TestVerifyTSAMustBeTrusted covers issue 7 case 9 in process: a log entry
// with an inclusion proof but no signed entry timestamp (as every Rekor v2
// entry) gives no trusted signing time, so a bundle whose only signing time
// is its RFC 3161 timestamp fails when the trusted root does not list that
// TSA. (e2e/negatives_test.go does it with a real Rekor v2 bundle.)
func TestVerifyTSAMustBeTrusted(t *testing.T) {
	f := newFake(t)
	subj := f.subject(t)
	b := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
	b.entry.InclusionPromise = nil
	storeBundle(t, subj, b.bundleJSON(t))

	withoutTSA := f.trust()
	withoutTSA.tsa = nil
	anotherTSA := f.trust()
	anotherTSA.tsa = []root.TimestampingAuthority{newTSA(t, "untrusted").ca}

	t.Run("trusted root with the TSA verifies", func(t *testing.T) {
		got := run(t, f.trust(), demoPolicy, subj, sign.Bundle)
		if !got.Verified {
			t.Fatalf("not verified: %q", got.Reasons)
		}
	})
	for _, tc := range []struct {
		name string
		tm   root.TrustedMaterial
	}{
		{"trusted root without the TSA", withoutTSA},
		{"trusted root with another TSA", anotherTSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.tm, demoPolicy, subj, sign.Bundle)
			if got.Verified || len(got.Reasons) != 1 {
				t.Fatalf("verified %v, reasons %q; want one reason", got.Verified, got.Reasons)
			}
			if w := "threshold not met for verified signed & log entry integrated timestamps: 0 < 1"; !strings.Contains(got.Reasons[0], w) {
				t.Errorf("reason lacks %q:\n%s", w, got.Reasons[0])
			}
		})
	}
}

// TestVerifyFailsClosed: no signature is not verified, and a registry that
// fails is an error, never a pass.
func TestVerifyFailsClosed(t *testing.T) {
	f := newFake(t)
	v, err := verify.New(f.trust(), demoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("no signature", func(t *testing.T) {
		subj := f.subject(t)
		for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
			got, err := v.Verify(ctx, subj, payload.Signature{}, format)
			if err != nil {
				t.Fatal(err)
			}
			want := verify.Result{Format: format, LogIndex: -1, Reasons: []string{
				fmt.Sprintf("no %s signature found for %s", format, subj.Digest.DigestStr()),
			}, Cause: verify.Absent}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", format, diff)
			}
		}
	})

	t.Run("only signatures that fail", func(t *testing.T) {
		subj := f.subject(t)
		for range 2 {
			b := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), slsaType))
			storeBundle(t, subj, b.bundleJSON(t))
		}
		storeBundle(t, subj, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
		got, err := v.Verify(ctx, subj, payload.Signature{}, sign.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if got.Verified || len(got.Reasons) != 3 {
			t.Errorf("verified %v, reasons %q; want not verified, three reasons", got.Verified, got.Reasons)
		}
	})

	t.Run("a valid signature among failing ones verifies", func(t *testing.T) {
		subj := f.subject(t)
		bad := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), slsaType))
		storeBundle(t, subj, bad.bundleJSON(t))
		good := f.attest(t, f.signer(), statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
		storeBundle(t, subj, good.bundleJSON(t))
		got, err := v.Verify(ctx, subj, payload.Signature{}, sign.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Verified || got.Reasons != nil || got.LogIndex != good.entry.LogIndex {
			t.Errorf("verified %v, reasons %q, log index %d; want the good signature", got.Verified, got.Reasons, got.LogIndex)
		}
	})

	t.Run("unknown format", func(t *testing.T) {
		got, err := v.Verify(ctx, f.subject(t), payload.Signature{}, sign.Format("both"))
		if err == nil || got.Verified {
			t.Errorf("verified %v, error %v; want an error", got.Verified, err)
		}
	})

	// A registry that answers the ping and refuses everything else.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
	}))
	t.Cleanup(refusing.Close)
	d, err := name.NewDigest(strings.TrimPrefix(refusing.URL, "http://") + "/keyless/app@sha256:" + strings.Repeat("cd", 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run("registry error, "+string(format), func(t *testing.T) {
			got, err := v.Verify(ctx, registry.Subject{Digest: d}, payload.Signature{}, format)
			if err == nil {
				t.Fatalf("no error; result %+v", got)
			}
			if got.Verified || !strings.Contains(err.Error(), "DENIED") {
				t.Errorf("verified %v, error %v; want not verified and the registry's DENIED", got.Verified, err)
			}
		})
	}
}
