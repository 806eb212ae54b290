package stack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// logKey is a P-256 signing key of a log, kept on disk so the logs keep
// their identity across restarts.
type logKey struct {
	path   string // SEC1 "EC PRIVATE KEY" PEM
	pubDER []byte // PKIX
}

// pubPEM returns the public key as PEM.
func (k logKey) pubPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.pubDER})
}

// id returns the log ID: the SHA-256 of the PKIX public key.
func (k logKey) id() []byte {
	sum := sha256.Sum256(k.pubDER)
	return sum[:]
}

// loadOrCreateKey reads or creates the EC key at path.
func loadOrCreateKey(path string) (logKey, error) {
	var key *ecdsa.PrivateKey
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		block, _ := pem.Decode(b)
		if block == nil {
			return logKey{}, fmt.Errorf("reading %s: no PEM block", path)
		}
		if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
			return logKey{}, fmt.Errorf("reading %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return logKey{}, err
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return logKey{}, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return logKey{}, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return logKey{}, err
		}
	default:
		return logKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return logKey{}, err
	}
	return logKey{path: path, pubDER: pub}, nil
}
