package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/keyless-dev/keyless/internal/store"
)

// timestampAuthority is sigstore-go's result type for an RFC 3161 timestamp.
const timestampAuthority = "TimestampAuthority"

// checkStamps fails closed on RFC 3161 timestamps, as cosign does: every
// timestamp an item carries must verify and fall inside the signing
// certificate's validity (checkCarried). A timestamp kept beside the
// bundle (cosign's .att layer) is verified over the bytes it covers, at a
// time the certificate was valid, and added to vr.
func checkStamps(tsas []root.TimestampingAuthority, it store.Item, vr *sgverify.VerificationResult) error {
	b, err := bundle.NewBundle(it.Bundle)
	if err != nil {
		return err
	}
	if err := checkCarried(tsas, b); err != nil {
		return err
	}
	if it.Stamp == nil {
		return nil
	}
	cert, err := leaf(b)
	if err != nil {
		return err
	}
	if cert == nil {
		return errors.New("a timestamped layer without a certificate")
	}
	ts, err := verifyStamp(tsas, it.Stamp, it.Stamped)
	if err != nil {
		return fmt.Errorf("the layer's RFC 3161 timestamp does not verify against the trusted root's timestamp authorities: %w", err)
	}
	if err := within(ts.Time, cert); err != nil {
		return fmt.Errorf("the RFC 3161 timestamp %w", err)
	}
	vr.VerifiedTimestamps = append(vr.VerifiedTimestamps, sgverify.TimestampVerificationResult{Type: timestampAuthority, URI: ts.URI, Timestamp: ts.Time})
	return nil
}

// checkCarried checks every RFC 3161 timestamp that bundle b carries:
// each must verify over b's signature against a timestamp authority of
// the trusted root and, when b is signed with a certificate, fall inside
// the certificate's validity. sigstore-go skips a timestamp that does not
// verify, and one from an authority that already stamped the signature,
// whenever the others (or the log's time) suffice.
func checkCarried(tsas []root.TimestampingAuthority, b *bundle.Bundle) error {
	stamps := b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	if len(stamps) == 0 {
		return nil
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return err
	}
	cert, err := leaf(b)
	if err != nil {
		return err
	}
	for i, s := range stamps {
		ts, err := verifyStamp(tsas, s.GetSignedTimestamp(), sc.Signature())
		if err != nil {
			return fmt.Errorf("RFC 3161 timestamp %d of %d does not verify against the trusted root's timestamp authorities: %w", i+1, len(stamps), err)
		}
		if cert == nil {
			continue
		}
		if err := within(ts.Time, cert); err != nil {
			return fmt.Errorf("RFC 3161 timestamp %d of %d %w", i+1, len(stamps), err)
		}
	}
	return nil
}

// verifyStamp verifies an RFC 3161 timestamp over data against the first
// of tsas that verifies it.
func verifyStamp(tsas []root.TimestampingAuthority, stamp, data []byte) (*root.Timestamp, error) {
	if len(tsas) == 0 {
		return nil, errors.New("the trusted root has no timestamp authority")
	}
	var errs []error
	for _, ta := range tsas {
		ts, err := ta.Verify(stamp, data)
		if err == nil {
			return ts, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// within reports a time outside the certificate's validity.
func within(at time.Time, cert *x509.Certificate) error {
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		f := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
		return fmt.Errorf("(%s) is outside the certificate's validity (%s to %s)", f(at), f(cert.NotBefore), f(cert.NotAfter))
	}
	return nil
}

// leaf is b's signing certificate, as sigstore-go reads it; nil for a
// bundle signed with a key.
func leaf(b *bundle.Bundle) (*x509.Certificate, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, err
	}
	return vc.Certificate(), nil
}
