package verify

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/keyless-dev/keyless/internal/store"
)

// timestampAuthority is sigstore-go's result type for an RFC 3161 timestamp.
const timestampAuthority = "TimestampAuthority"

// checkStamps fails closed on RFC 3161 timestamps, as cosign does: every
// timestamp an item carries must verify, where sigstore-go skips one that
// does not when the log's time alone suffices. A timestamp kept beside the
// bundle (cosign's .att layer) is verified over the bytes it covers, at a
// time the certificate was valid, and added to vr.
func checkStamps(tsas []root.TimestampingAuthority, it store.Item, vr *sgverify.VerificationResult) error {
	carried := len(it.Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps())
	verified := 0
	for _, t := range vr.VerifiedTimestamps {
		if t.Type == timestampAuthority {
			verified++
		}
	}
	if verified < carried {
		return fmt.Errorf("%d of its %d RFC 3161 timestamps do not verify against the trusted root's timestamp authorities", carried-verified, carried)
	}
	if it.Stamp == nil {
		return nil
	}
	if len(tsas) == 0 {
		return errors.New("the layer has an RFC 3161 timestamp and the trusted root no timestamp authority to verify it")
	}
	cert, err := leaf(it)
	if err != nil {
		return err
	}
	var errs []error
	for _, ta := range tsas {
		ts, err := ta.Verify(it.Stamp, it.Stamped)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ts.Time.Before(cert.NotBefore) || ts.Time.After(cert.NotAfter) {
			return fmt.Errorf("the RFC 3161 timestamp (%s) is outside the certificate's validity (%s to %s)", ts.Time, cert.NotBefore, cert.NotAfter)
		}
		vr.VerifiedTimestamps = append(vr.VerifiedTimestamps, sgverify.TimestampVerificationResult{Type: timestampAuthority, URI: ts.URI, Timestamp: ts.Time})
		return nil
	}
	return fmt.Errorf("the layer's RFC 3161 timestamp does not verify against the trusted root's timestamp authorities: %w", errors.Join(errs...))
}

// leaf is the item's signing certificate, as sigstore-go reads it.
func leaf(it store.Item) (*x509.Certificate, error) {
	b, err := bundle.NewBundle(it.Bundle)
	if err != nil {
		return nil, err
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, err
	}
	if c := vc.Certificate(); c != nil {
		return c, nil
	}
	return nil, errors.New("a timestamped layer without a certificate")
}
