package verify

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
)

// NewKey returns a Verifier for bundles signed with the long-lived public
// key pub instead of a Fulcio certificate. Like New it requires a
// transparency-log entry and a verified signing time, checked against tr;
// there is no identity policy, and a certificate-signed bundle fails.
func NewKey(tr root.TrustedMaterial, pub crypto.PublicKey) (*Verifier, error) {
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	// The bundle's key hint is not trusted to pick the key: the caller named
	// the one key, valid at any time.
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	v, err := sgverify.NewVerifier(root.TrustedMaterialCollection{tr, keys},
		sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		return nil, fmt.Errorf("building verifier: %w", err)
	}
	return &Verifier{v: v, tsas: tr.TimestampingAuthorities()}, nil
}

// ParsePublicKey parses a PEM-encoded PKIX public key (ECDSA, RSA or
// Ed25519), as cosign and the conformance suite write them.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("parsing public key: no PEM block found")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	return pub, nil
}

// keyed is true for a Verifier made by NewKey: New always sets an issuer.
func (v *Verifier) keyed() bool {
	return v.identity.Issuer.Issuer == "" && v.identity.Issuer.Regexp.String() == ""
}

// VerifyBlob verifies bundle b over the artifact read from artifact: a
// message signature over its digest, or a DSSE in-toto statement that
// names its digest as a subject. The signer must match the Verifier's
// identity policy (or, for NewKey, its key), and every RFC 3161 timestamp
// the bundle carries must verify and fall inside the certificate's
// validity.
func (v *Verifier) VerifyBlob(b *bundle.Bundle, artifact io.Reader) (*sgverify.VerificationResult, error) {
	return v.blob(b, sgverify.WithArtifact(artifact))
}

// VerifyBlobDigest is VerifyBlob for an artifact known only by its digest;
// algorithm is e.g. "sha256".
func (v *Verifier) VerifyBlobDigest(b *bundle.Bundle, algorithm string, digest []byte) (*sgverify.VerificationResult, error) {
	return v.blob(b, sgverify.WithArtifactDigest(algorithm, digest))
}

func (v *Verifier) blob(b *bundle.Bundle, artifact sgverify.ArtifactPolicyOption) (*sgverify.VerificationResult, error) {
	if b == nil || b.Bundle == nil {
		return nil, errors.New("no bundle")
	}
	signer := sgverify.WithKey()
	if !v.keyed() {
		signer = sgverify.WithCertificateIdentity(v.identity)
	}
	vr, err := v.v.Verify(b, sgverify.NewPolicy(artifact, signer))
	if err != nil {
		return nil, err
	}
	if err := checkCarried(v.tsas, b); err != nil {
		return nil, err
	}
	if b.GetDsseEnvelope() != nil {
		// sigstore-go checks the subjects but not the statement type.
		if vr.Statement == nil {
			return nil, errors.New("bundle's DSSE envelope holds no in-toto statement")
		}
		if err := payload.CheckKeys(b.GetDsseEnvelope().GetPayload(), ""); err != nil {
			return nil, fmt.Errorf("in-toto statement refused: %w", err)
		}
		switch t := vr.Statement.GetType(); t {
		case sign.InTotoStatementV1, sign.InTotoStatementV01:
		case "":
			return nil, errors.New("in-toto statement has no _type")
		default:
			return nil, fmt.Errorf("in-toto statement has unknown _type %q", t)
		}
	}
	return vr, nil
}
