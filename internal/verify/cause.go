package verify

import (
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Cause is why a verification failed, in the terms of an audit: whether
// anything was stored, and what stopped the best of it.
type Cause string

// The causes of a failed verification; a verified Result has none.
const (
	// Absent: nothing is stored for the subject in the format.
	Absent Cause = "absent"
	// OtherIdentity: a stored signature passes every check but the
	// identity policy (the certificate's identity, issuer or extensions).
	OtherIdentity Cause = "identity"
	// Dangling: the store names a signature manifest or blob that the
	// registry no longer has (deleted by a retention policy, say).
	Dangling Cause = "dangling"
	// Unreadable: the registry failed otherwise, or refused the read.
	Unreadable Cause = "unreadable"
	// Invalid: what is stored fails another check.
	Invalid Cause = "invalid"
)

// readCause is the cause of a registry error reading what is stored.
func readCause(err error) Cause {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return Dangling
	}
	return Unreadable
}

// itemCause is the cause of one stored item's failure.
func itemCause(err error) Cause {
	var id *sgverify.ErrNoMatchingCertificateIdentity
	if errors.As(err, &id) {
		return OtherIdentity
	}
	return Invalid
}
