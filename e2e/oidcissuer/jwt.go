package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

var b64 = base64.RawURLEncoding

// LoadOrCreateKey reads the issuer's P-256 signing key from path (PEM, SEC1
// "EC PRIVATE KEY"), generating and saving a new one when the file does not
// exist, so tokens stay verifiable across restarts.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("reading %s: no PEM block", path)
		}
		return x509.ParseECPrivateKey(block.Bytes)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// keyID derives a stable JWK key ID from the public key.
func keyID(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // P-256 keys always marshal
	}
	sum := sha256.Sum256(der)
	return b64.EncodeToString(sum[:16])
}

// jwk is the JSON Web Key form of the issuer's public key.
func jwk(pub *ecdsa.PublicKey) map[string]string {
	// The uncompressed point is 0x04 || X || Y, each 32 bytes for P-256.
	point, err := pub.Bytes()
	if err != nil || len(point) != 65 {
		panic(fmt.Sprintf("issuer key is not an uncompressed P-256 point: %v", err))
	}
	return map[string]string{
		"kty": "EC",
		"crv": "P-256",
		"x":   b64.EncodeToString(point[1:33]),
		"y":   b64.EncodeToString(point[33:]),
		"kid": keyID(pub),
		"use": "sig",
		"alg": "ES256",
	}
}

// sign returns the compact ES256 JWS of claims.
func sign(key *ecdsa.PrivateKey, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": keyID(&key.PublicKey)})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %w", err)
	}
	signingInput := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + b64.EncodeToString(sig), nil
}
