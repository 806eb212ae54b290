package sign

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// failingProvider answers every certificate request with err.
type failingProvider struct{ err error }

func (p failingProvider) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return nil, p.err
}

// TestFulcioRefusal checks that a 4xx answer from Fulcio is a RefusedError,
// whatever the shape of its body (a gateway's JSON, a text body ending in
// a newline, several lines), and that other failures are not.
func TestFulcioRefusal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  string
		want *RefusedError // nil: not a refusal
	}{
		{"json", `Fulcio returned 403: {"code":7,"message":"no"}`, &RefusedError{Service: "Fulcio", StatusCode: 403, Message: `{"code":7,"message":"no"}`}},
		{"trailing newline", "Fulcio returned 400: bad token\n", &RefusedError{Service: "Fulcio", StatusCode: 400, Message: "bad token"}},
		{"several lines", "Fulcio returned 401: line one\nline two\n", &RefusedError{Service: "Fulcio", StatusCode: 401, Message: "line one\nline two"}},
		{"rate limited", "Fulcio returned 429: slow down", nil},
		{"server error", "Fulcio returned 503: unavailable", nil},
		{"network", "dial tcp: connection refused", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &onceCertificate{provider: failingProvider{errors.New(tc.err)}}
			_, err := c.GetCertificate(context.Background(), nil, nil)
			var got *RefusedError
			if !errors.As(err, &got) {
				got = nil
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GetCertificate error %v: refusal (-want +got):\n%s", err, diff)
			}
		})
	}
}
