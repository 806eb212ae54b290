package limit

import (
	"net/http"
	"sync"
)

// Transport is an http.RoundTripper that bounds the requests in flight to
// each host with its own Limiter. Put it under a retrying transport, so
// that a wait for Retry-After holds no slot.
type Transport struct {
	base  http.RoundTripper
	n     int
	hosts sync.Map // host -> *Limiter
}

// NewTransport returns a Transport allowing n requests at once per host
// through base (nil means http.DefaultTransport).
func NewTransport(base http.RoundTripper, n int) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, n: n}
}

// Limiter returns the limiter of host.
func (t *Transport) Limiter(host string) *Limiter {
	if l, ok := t.hosts.Load(host); ok {
		return l.(*Limiter)
	}
	l, _ := t.hosts.LoadOrStore(host, New(t.n))
	return l.(*Limiter)
}

// RoundTrip sends req once a slot of its host is free. The slot is freed
// when the response headers arrive: bodies here are small, and a body a
// caller never closes must not hold a slot forever.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.Limiter(req.URL.Host)
	if err := l.Acquire(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	l.Release(err == nil && Overloaded(resp))
	return resp, err
}

// Overloaded reports whether resp says the service is over its capacity:
// 429 Too Many Requests, or 503 with a Retry-After.
func Overloaded(resp *http.Response) bool {
	return resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
}
