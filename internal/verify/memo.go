package verify

import (
	"crypto/sha256"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// sctMemo remembers the leaf certificates whose SCTs verified. A run signs
// every image with one certificate, so its SCTs are checked once instead
// of once per signature: an SCT's check depends only on the certificate's
// bytes and the trusted root, which are the same for every signature.
// Every other check (chain, log entry, timestamps, signature, identity)
// is made for every signature.
type sctMemo struct {
	// noSCT is the Verifier without the SCT check, for a known certificate.
	noSCT *sgverify.Verifier
	ok    sync.Map // sha256 of a leaf's DER -> struct{}
}

// verify verifies b against p, checking the SCTs of a certificate only
// the first time it passes.
func (v *Verifier) verify(b *bundle.Bundle, p sgverify.PolicyBuilder) (*sgverify.VerificationResult, error) {
	if v.sct == nil {
		return v.v.Verify(b, p)
	}
	key, ok := leafKey(b)
	if ok {
		if _, seen := v.sct.ok.Load(key); seen {
			return v.sct.noSCT.Verify(b, p)
		}
	}
	vr, err := v.v.Verify(b, p)
	if err == nil && ok {
		v.sct.ok.Store(key, struct{}{})
	}
	return vr, err
}

func leafKey(b *bundle.Bundle) ([sha256.Size]byte, bool) {
	vc, err := b.VerificationContent()
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	c := vc.Certificate()
	if c == nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(c.Raw), true
}
