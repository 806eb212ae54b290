package limit

import (
	"net/http"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/retry"
)

// Transport is an http.RoundTripper that bounds the requests in flight to
// each host with its own Limiter, and pauses a host for the Retry-After of
// its throttling answers. Put it under a retrying transport, so that a
// wait for Retry-After holds no slot.
type Transport struct {
	base       http.RoundTripper
	n, ceiling int
	hosts      sync.Map // host -> *Limiter
}

// Option configures a Transport.
type Option func(*Transport)

// WithCeiling lets each host's bound grow up to n with latency
// (Limiter.Grow).
func WithCeiling(n int) Option { return func(t *Transport) { t.ceiling = n } }

// NewTransport returns a Transport allowing n requests at once per host
// through base (nil means http.DefaultTransport).
func NewTransport(base http.RoundTripper, n int, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{base: base, n: n}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Limiter returns the limiter of host.
func (t *Transport) Limiter(host string) *Limiter {
	if l, ok := t.hosts.Load(host); ok {
		return l.(*Limiter)
	}
	l := New(t.n)
	l.Grow(t.ceiling)
	got, _ := t.hosts.LoadOrStore(host, l)
	return got.(*Limiter)
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
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	var took time.Duration // only answers the service gave in its stride count
	if err == nil && resp.StatusCode < http.StatusInternalServerError {
		took = time.Since(start)
	}
	overloaded := err == nil && Overloaded(resp)
	if overloaded {
		if d, ok := retry.After(resp); ok {
			l.Pause(d)
		}
	}
	l.Done(overloaded, took)
	return resp, err
}

// Overloaded reports whether resp says the service is over its capacity:
// 429 Too Many Requests, or 503 with a Retry-After.
func Overloaded(resp *http.Response) bool {
	return resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
}
