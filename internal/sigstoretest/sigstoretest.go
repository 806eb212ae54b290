// Package sigstoretest serves an in-process Fulcio, Rekor v2 log and
// timestamp authority over HTTP, for tests that sign. The services answer
// the way the real ones do on the wire, record what they were sent, and
// can be told to refuse; they do not build a verifiable log.
package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Identity is the URI SAN of every certificate the fake Fulcio issues.
const Identity = "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main"

// LogIndex is the index of the first entry the fake Rekor records.
const LogIndex = 42

// Stack is the in-process Fulcio, Rekor v2 and TSA.
type Stack struct {
	// FulcioURL, RekorURL (v2), RekorV1URL and TSAURL are the services' URLs.
	FulcioURL, RekorURL, RekorV1URL, TSAURL string
	// SigningConfig is a signing_config.json path that names them.
	SigningConfig string

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	mu sync.Mutex
	// Tokens are the bearer tokens Fulcio was sent, in order.
	Tokens []string
	// Certificates are the leaf certificates Fulcio issued, in order.
	Certificates []*x509.Certificate
	// Entries counts the entries Rekor added; Timestamps the TSA's answers.
	Entries, Timestamps int
	// Refuse maps "fulcio", "rekor" or "tsa" to an HTTP status to answer.
	Refuse map[string]int
	// RefuseTimes, when set for a service, limits its refusals to that
	// many requests; the later ones are answered.
	RefuseTimes map[string]int
	// RetryAfter, when set, is the Retry-After header of every refusal.
	RetryAfter string
	// Calls counts every request each service received.
	Calls map[string]int
	// Stamped are the hashed messages the TSA stamped, in order.
	Stamped [][]byte
	// TSAWaitsForLog, when set, makes the TSA answer a timestamp only
	// once the log has received the write it goes with, waiting at most
	// that long and then refusing with 400: a signature asked to be
	// stamped before it is logged fails.
	TSAWaitsForLog time.Duration
	// LogWaitsForTSA, when set, makes the log answer a write only once
	// the TSA has stamped as many signatures as the log has received,
	// waiting at most that long and then refusing with 400: a signature
	// stamped only after its entry is answered fails.
	LogWaitsForTSA time.Duration
	// HoldCertificate, when set, is called before Fulcio answers: a test
	// holds the certificate back with it until something has happened.
	HoldCertificate func()
}

// New starts the services for the test's lifetime.
func New(t *testing.T) *Stack {
	t.Helper()
	s := &Stack{Refuse: map[string]int{}, RefuseTimes: map[string]int{}, Calls: map[string]int{}}
	s.caKey = NewKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigstoretest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageTimeStamping},
	}
	s.caCert = Issue(t, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	s.FulcioURL, s.RekorURL, s.RekorV1URL = serve(s.fulcio), serve(s.rekor), serve(s.rekorV1)
	s.TSAURL = serve(s.tsa) + "/api/v1/timestamp"
	s.SigningConfig = s.WriteSigningConfig(t, 2, 1)
	return s
}

// WriteSigningConfig writes a signing_config.json that names Fulcio, the
// TSA and the Rekor logs of the given major API versions, and returns its
// path.
func (s *Stack) WriteSigningConfig(t *testing.T, rekorVersions ...int) string {
	t.Helper()
	svc := func(u string, v int) []map[string]any {
		return []map[string]any{{"url": u, "majorApiVersion": v, "validFor": map[string]string{"start": "2020-01-01T00:00:00Z"}, "operator": "sigstoretest"}}
	}
	logs := []map[string]any{}
	for _, v := range rekorVersions {
		logs = append(logs, svc(map[int]string{1: s.RekorV1URL, 2: s.RekorURL}[v], v)...)
	}
	b, err := json.Marshal(map[string]any{
		"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":    svc(s.FulcioURL, 1), "tsaUrls": svc(s.TSAURL, 1),
		"rekorTlogUrls":   logs,
		"rekorTlogConfig": map[string]string{"selector": "ANY"}, "tsaConfig": map[string]string{"selector": "ANY"},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// refused answers the configured status for service, if any.
func (s *Stack) refused(w http.ResponseWriter, service string) bool {
	s.mu.Lock()
	s.Calls[service]++
	code := s.Refuse[service]
	if n, ok := s.RefuseTimes[service]; ok {
		if n == 0 {
			code = 0
		} else {
			s.RefuseTimes[service] = n - 1
		}
	}
	s.mu.Unlock()
	if code != 0 {
		// Like Fulcio's gateway: a JSON body without a trailing newline.
		w.Header().Set("Content-Type", "application/json")
		if s.RetryAfter != "" {
			w.Header().Set("Retry-After", s.RetryAfter)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"code":16,"message":"%s says no"}`, service)
	}
	return code != 0
}

// fulcio issues a certificate for the request's public key.
func (s *Stack) fulcio(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, "fulcio") {
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct{ Content string } `json:"publicKey"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		http.Error(w, "no PEM public key", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	san, _ := url.Parse(Identity)
	issuer, _ := asn1.Marshal("https://token.actions.githubusercontent.com")
	leaf, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), URIs: []*url.URL{san},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}},
	}, s.caCert, pub, s.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.HoldCertificate != nil {
		s.HoldCertificate()
	}
	cert, _ := x509.ParseCertificate(leaf)
	s.mu.Lock()
	s.Tokens = append(s.Tokens, r.Header.Get("Authorization"))
	s.Certificates = append(s.Certificates, cert)
	s.mu.Unlock()
	chain := []string{pemCert(leaf), pemCert(s.caCert.Raw)}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// logEntry reads a log write to path and records it, returning its body
// and index; it answers the request itself and reports false when the log
// refuses or the request is not a write to path.
func (s *Stack) logEntry(w http.ResponseWriter, r *http.Request, path string) ([]byte, int64, bool) {
	if s.refused(w, "rekor") {
		return nil, 0, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != path {
		http.Error(w, fmt.Sprintf("bad request to %s", r.URL.Path), http.StatusBadRequest)
		return nil, 0, false
	}
	s.mu.Lock()
	index := int64(LogIndex + s.Entries)
	s.Entries++
	s.mu.Unlock()
	if !s.awaitStamp() {
		http.Error(w, "no timestamp was asked for while the entry was logged", http.StatusBadRequest)
		return nil, 0, false
	}
	return body, index, true
}

// rekor records an entry and answers its log entry, with no proof.
func (s *Stack) rekor(w http.ResponseWriter, r *http.Request) {
	body, index, ok := s.logEntry(w, r, "/api/v2/log/entries")
	if !ok {
		return
	}
	out, err := protojson.Marshal(&protorekor.TransparencyLogEntry{
		LogIndex: index, LogId: &protocommon.LogId{KeyId: []byte("sigstoretest")},
		KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.2"}, CanonicalizedBody: body,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

// rekorV1 records an entry and answers it the way Rekor v1 does, with a
// placeholder promise and proof: the body is the proposed entry as sent.
func (s *Stack) rekorV1(w http.ResponseWriter, r *http.Request) {
	body, index, ok := s.logEntry(w, r, "/api/v1/log/entries")
	if !ok {
		return
	}
	uuid := fmt.Sprintf("%064x", index)
	zero := fmt.Sprintf("%064x", 0)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.Header().Set("ETag", uuid)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{uuid: map[string]any{
		"body": body, "integratedTime": time.Now().Unix(), "logID": zero, "logIndex": index,
		"verification": map[string]any{
			"signedEntryTimestamp": []byte("sigstoretest"),
			"inclusionProof":       map[string]any{"checkpoint": "sigstoretest", "hashes": []string{}, "logIndex": index, "rootHash": zero, "treeSize": index + 1},
		},
	}})
}

// tsa answers an RFC 3161 timestamp of the request, now.
func (s *Stack) tsa(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, "tsa") {
		return
	}
	if !s.awaitLog() {
		http.Error(w, "no log write arrived while the timestamp was asked for", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := (&timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(), Nonce: req.Nonce,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: req.Certificates,
	}).CreateResponseWithOpts(s.caCert, s.caKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.Timestamps++
	s.Stamped = append(s.Stamped, req.HashedMessage)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// NewKey returns a fresh P-256 key.
func NewKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Issue signs tmpl for pub with parent's key priv and returns the parsed
// certificate (parent == tmpl makes it self-signed).
func Issue(t *testing.T, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, priv *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// awaitLog waits, when TSAWaitsForLog is set, until the log has received
// a write for this timestamp (more writes than timestamps answered), and
// reports whether one arrived.
func (s *Stack) awaitLog() bool {
	deadline := time.Now().Add(s.TSAWaitsForLog)
	for {
		s.mu.Lock()
		ok := s.TSAWaitsForLog == 0 || s.Entries > s.Timestamps
		s.mu.Unlock()
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitStamp waits, when LogWaitsForTSA is set, until the TSA has stamped
// as many signatures as the log has received, and reports whether it did.
func (s *Stack) awaitStamp() bool {
	deadline := time.Now().Add(s.LogWaitsForTSA)
	for {
		s.mu.Lock()
		ok := s.LogWaitsForTSA == 0 || s.Timestamps >= s.Entries
		s.mu.Unlock()
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
