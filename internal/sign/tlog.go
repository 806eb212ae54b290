package sign

import (
	"context"
	"errors"
	"net/http"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/keyless-dev/keyless/internal/retry"
)

// namedLog names the transparency log in its errors.
type namedLog struct {
	name    string
	version uint32
	log     sgsign.Transparency
}

func (l *namedLog) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	if err := l.log.GetTransparencyLogEntry(ctx, keyOrCertPEM, b); err != nil {
		return &logError{name: l.name, version: l.version, err: err}
	}
	return nil
}

type logError struct {
	name    string
	version uint32
	err     error
}

func (e *logError) Error() string { return e.name + ": " + e.err.Error() }

func (e *logError) Unwrap() error { return e.err }

// rekorV2Transient reports whether err is a transient Rekor v2 failure,
// worth signing again for.
func rekorV2Transient(err error) bool {
	var le *logError
	if !errors.As(err, &le) || le.version != 2 {
		return false
	}
	var se *rekorV2Status
	if errors.As(le.err, &se) {
		status := se.status.StatusCode
		return status == http.StatusConflict || retry.TemporaryStatus(status)
	}
	return retry.Redo(le.err)
}
