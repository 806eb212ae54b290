package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// The fixtures cmd/conformance made against the local Sigstore stack.
const fixtures = "../../cmd/conformance/testdata/"

func TestParsePublicKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	good := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pub, err := ParsePublicKey(good)
	if err != nil {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	if !k.PublicKey.Equal(pub) {
		t.Errorf("ParsePublicKey returned another key")
	}
	for name, in := range map[string][]byte{
		"not PEM":    []byte("hello"),
		"not a key":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}),
		"empty file": nil,
	} {
		if _, err := ParsePublicKey(in); err == nil {
			t.Errorf("ParsePublicKey(%s) succeeded", name)
		}
	}
}

func loadFixture(t *testing.T) (*root.TrustedRoot, *bundle.Bundle, []byte, Policy) {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(fixtures + "trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.LoadJSONFromPath(fixtures + "a.txt.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	artifact, err := os.ReadFile(fixtures + "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := os.ReadFile(fixtures + "identity")
	iss, _ := os.ReadFile(fixtures + "issuer")
	return tr, b, artifact, Policy{Identity: strings.TrimSpace(string(id)), Issuer: strings.TrimSpace(string(iss))}
}

func TestVerifyBlob(t *testing.T) {
	tr, b, artifact, p := loadFixture(t)
	v, err := New(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	if v.keyed() {
		t.Fatal("a Verifier from New is keyed")
	}
	vr, err := v.VerifyBlob(b, bytes.NewReader(artifact))
	if err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if got := vr.Signature.Certificate.SubjectAlternativeName; got != p.Identity {
		t.Errorf("verified identity = %q, want %q", got, p.Identity)
	}
	sum := sha256.Sum256(artifact)
	if _, err := v.VerifyBlobDigest(b, "sha256", sum[:]); err != nil {
		t.Errorf("VerifyBlobDigest: %v", err)
	}
	if _, err := v.VerifyBlob(b, strings.NewReader("tampered")); err == nil {
		t.Error("VerifyBlob of another artifact succeeded")
	}
	other := sha256.Sum256([]byte("tampered"))
	if _, err := v.VerifyBlobDigest(b, "sha256", other[:]); err == nil {
		t.Error("VerifyBlobDigest of another digest succeeded")
	}
	if _, err := v.VerifyBlob(nil, bytes.NewReader(artifact)); err == nil {
		t.Error("VerifyBlob of no bundle succeeded")
	}
	p.Identity += "-evil"
	wrong, err := New(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.VerifyBlob(b, bytes.NewReader(artifact)); err == nil {
		t.Error("VerifyBlob with another identity succeeded")
	}
}

func TestVerifyBlobKey(t *testing.T) {
	tr, cert, artifact, _ := loadFixture(t)
	raw, err := os.ReadFile(fixtures + "key/key.pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewKey(tr, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !v.keyed() {
		t.Fatal("a Verifier from NewKey is not keyed")
	}
	b, err := bundle.LoadJSONFromPath(fixtures + "key/bundle.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyBlob(b, bytes.NewReader(artifact)); err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if _, err := v.VerifyBlob(b, strings.NewReader("tampered")); err == nil {
		t.Error("VerifyBlob of another artifact succeeded")
	}
	if _, err := v.VerifyBlob(cert, bytes.NewReader(artifact)); err == nil {
		t.Error("a key Verifier accepted a certificate-signed bundle")
	}
}
