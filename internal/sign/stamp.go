package sign

import (
	"context"
	"errors"
	"fmt"
	"sync"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/keyless-dev/keyless/internal/store"
)

// stamper is a store whose RFC 3161 timestamps cover bytes of its own
// choosing rather than the signature sigstore-go stamps: cosign's .att
// layer is stamped over its whole DSSE envelope (store.Tag).
type stamper interface {
	// Stamped returns the bytes to timestamp for b, signed over c.
	Stamped(c store.Content, b *protobundle.Bundle) ([]byte, error)
	// StampsSignature reports whether those bytes, for content c, are
	// the signature alone, as sigstore-go stamps it: they are then
	// stamped while the signature is logged, not after.
	StampsSignature(c store.Content) bool
}

var _ stamper = (*store.Tag)(nil)

// stamp asks each of format f's timestamp authorities to stamp what st
// says, and records the timestamps in b as sigstore-go would.
func (s *Signer) stamp(ctx context.Context, f Format, c store.Content, b *protobundle.Bundle, st stamper) error {
	tas := s.clients[f].ts
	if len(tas) == 0 {
		return nil
	}
	data, err := st.Stamped(c, b)
	if err != nil {
		return err
	}
	stamps, err := timestamps(ctx, tas, s.services[f].TSAs, data)
	if err != nil {
		return err
	}
	addTimestamps(b, stamps)
	return nil
}

// timestamps asks every authority in tas, at once, to stamp data; names
// are their URLs, for errors.
func timestamps(ctx context.Context, tas []*sgsign.TimestampAuthority, names []string, data []byte) ([][]byte, error) {
	stamps := make([][]byte, len(tas))
	errs := make([]error, len(tas))
	var wg sync.WaitGroup
	for i, ta := range tas {
		wg.Go(func() {
			if stamps[i], errs[i] = ta.GetTimestamp(ctx, data); errs[i] != nil {
				errs[i] = fmt.Errorf("getting a timestamp from %s: %w", names[i], errs[i])
			}
		})
	}
	wg.Wait()
	return stamps, errors.Join(errs...)
}

// addTimestamps records stamps in b as sigstore-go would.
func addTimestamps(b *protobundle.Bundle, stamps [][]byte) {
	vm := b.GetVerificationMaterial()
	if vm.TimestampVerificationData == nil {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
	}
	for _, ts := range stamps {
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
}

// alongside is a transparency log that also has the signature timestamped,
// while the entry is written: a log write waits for a checkpoint, and a
// timestamp asked for first (as sigstore-go does) delays every write of a
// large run by the timestamp authority's queue, so that the writes miss
// the checkpoint they would have made. The timestamps cover the bytes
// sigstore-go's would: the raw signature, of a message or of an envelope.
type alongside struct {
	log   sgsign.Transparency
	tsas  []*sgsign.TimestampAuthority
	names []string // the TSAs' URLs, for errors
}

var _ sgsign.Transparency = (*alongside)(nil)

// GetTransparencyLogEntry logs b's signature and timestamps it; b gets
// its timestamps only when both succeed.
func (a *alongside) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	sig, err := signatureOf(b)
	if err != nil {
		return err
	}
	var stamps [][]byte
	var stampErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		stamps, stampErr = timestamps(ctx, a.tsas, a.names, sig)
	}()
	logErr := a.log.GetTransparencyLogEntry(ctx, keyOrCertPEM, b)
	<-done
	if logErr != nil {
		return logErr
	}
	if stampErr != nil {
		return stampErr
	}
	addTimestamps(b, stamps)
	return nil
}

// signatureOf returns the raw signature of a signed bundle.
func signatureOf(b *protobundle.Bundle) ([]byte, error) {
	if sig := b.GetMessageSignature().GetSignature(); len(sig) > 0 {
		return sig, nil
	}
	if sigs := b.GetDsseEnvelope().GetSignatures(); len(sigs) == 1 && len(sigs[0].GetSig()) > 0 {
		return sigs[0].GetSig(), nil
	}
	return nil, errors.New("the bundle holds no single signature to timestamp")
}
