package sign

import (
	"context"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"

	"github.com/keyless-dev/keyless/internal/store"
)

// stamper is a store whose RFC 3161 timestamps cover bytes of its own
// choosing rather than the signature sigstore-go stamps: cosign's .att
// layer is stamped over its whole DSSE envelope (store.Tag).
type stamper interface {
	// Stamped returns the bytes to timestamp for b, signed over c.
	Stamped(c store.Content, b *protobundle.Bundle) ([]byte, error)
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
	vm := b.GetVerificationMaterial()
	if vm.TimestampVerificationData == nil {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
	}
	for i, ta := range tas {
		ts, err := ta.GetTimestamp(ctx, data)
		if err != nil {
			return fmt.Errorf("getting a timestamp from %s: %w", s.services[f].TSAs[i], err)
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	return nil
}
