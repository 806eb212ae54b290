package secret

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody is how much of an error response body is kept: enough for
// any registry's error JSON.
const maxErrorBody = 64 << 10

// Transport returns a transport that adds to s the credentials of every
// request it sends (a Basic header's base64 user:password and password,
// a Bearer token), and redacts s from the body of every error response, so
// that a service that echoes a request's Authorization header puts no
// secret into an error message. base nil means http.DefaultTransport.
func (s *Set) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{s: s, base: base}
}

type transport struct {
	s    *Set
	base http.RoundTripper
}

var _ http.RoundTripper = (*transport)(nil)

// RoundTrip records the request's credentials, sends it, and redacts an
// error response's body.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.record(req.Header.Get("Authorization"))
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < http.StatusBadRequest || resp.Body == nil {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		body = nil
	}
	redacted := []byte(t.s.Redact(string(body)))
	resp.Body = io.NopCloser(bytes.NewReader(redacted))
	resp.ContentLength = int64(len(redacted))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// record adds the credentials of an Authorization header value.
func (t *transport) record(auth string) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(auth), " ")
	cred = strings.TrimSpace(cred)
	if !ok || cred == "" {
		return
	}
	switch strings.ToLower(scheme) {
	case "basic":
		t.s.addEncoded(cred)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pass, ok := strings.Cut(string(dec), ":"); ok {
				t.s.Add(pass)
			}
		}
	default:
		t.s.Add(cred)
	}
}
