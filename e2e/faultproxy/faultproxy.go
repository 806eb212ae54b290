// Package faultproxy is a reverse proxy on 127.0.0.1 in front of one
// upstream service that injects transient faults at a configurable rate:
// HTTP 500, 502 and 503, 429 with Retry-After, connection resets (before
// the request reaches the upstream, or after, so that its answer is lost)
// and added latency. It counts what it injected. It only listens on and
// forwards to loopback addresses.
package faultproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Kind is a kind of injected fault.
type Kind string

// The kinds of fault, chosen uniformly when a request gets one.
const (
	Status500 Kind = "500"
	Status502 Kind = "502"
	Status503 Kind = "503"
	Status429 Kind = "429"
	Reset     Kind = "reset"   // the connection is closed before the upstream sees the request
	Lost      Kind = "lost"    // the upstream answers, then the connection is closed: the answer is lost
	Latency   Kind = "latency" // the request is delayed, then forwarded
)

// Kinds are all the kinds of fault, in the order they are reported.
var Kinds = []Kind{Status500, Status502, Status503, Status429, Reset, Lost, Latency}

// Defaults and bounds.
const (
	// DefaultMaxLatency bounds the added latency: enough to reorder
	// concurrent requests, small enough to keep a run short.
	DefaultMaxLatency = 500 * time.Millisecond
	// maxLatencyBound caps any configured latency, so that a misconfigured
	// test cannot hang on it.
	maxLatencyBound = 10 * time.Second
)

// Config says which faults to inject and how often.
type Config struct {
	// Rate is the probability, 0 to 1, that a request gets a fault.
	Rate float64
	// Seed seeds the fault choices, so that a failing run can be replayed
	// (the order of concurrent requests aside).
	Seed uint64
	// Kinds restricts the faults to these; nil means all of Kinds.
	Kinds []Kind
	// MaxLatency bounds the added latency; 0 means DefaultMaxLatency.
	MaxLatency time.Duration
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// Name names the service in reports.
	Name string
	// URL is the proxy's base URL, http://127.0.0.1:port.
	URL string
	// Host is the proxy's host:port.
	Host string

	srv *http.Server
	rp  *httputil.ReverseProxy

	mu       sync.Mutex
	cfg      Config
	rnd      *rand.Rand
	requests int
	counts   map[Kind]int
}

// Start starts a proxy named name in front of upstream (a loopback URL;
// its path is kept as a prefix).
func Start(name, upstream string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("parsing upstream %q: %w", upstream, err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("upstream %s is not a loopback address", upstream)
	}
	if cfg.Rate < 0 || cfg.Rate > 1 {
		return nil, fmt.Errorf("fault rate %v is not between 0 and 1", cfg.Rate)
	}
	if cfg.MaxLatency <= 0 {
		cfg.MaxLatency = DefaultMaxLatency
	}
	cfg.MaxLatency = min(cfg.MaxLatency, maxLatencyBound)
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = Kinds
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: u.Scheme, Host: u.Host}
	p := &Proxy{
		Name: name, Host: ln.Addr().String(), URL: "http://" + ln.Addr().String(),
		cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, uint64(len(name)))), counts: map[Kind]int{},
		rp: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the registry builds upload URLs from it: keep them on the proxy
		}},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// SetRate changes the fault rate.
func (p *Proxy) SetRate(rate float64) {
	p.mu.Lock()
	p.cfg.Rate = rate
	p.mu.Unlock()
}

// Close stops the proxy: later requests find nothing listening.
func (p *Proxy) Close() error {
	p.srv.SetKeepAlivesEnabled(false)
	err := p.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Stats are what a proxy saw and injected.
type Stats struct {
	Requests int
	Faults   map[Kind]int
}

// Total is the number of faults injected.
func (s Stats) Total() int {
	n := 0
	for _, c := range s.Faults {
		n += c
	}
	return n
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Requests: p.requests, Faults: map[Kind]int{}}
	for k, v := range p.counts {
		s.Faults[k] = v
	}
	return s
}

// String describes the stats, faults in the order of Kinds.
func (s Stats) String() string {
	out := fmt.Sprintf("%d requests, %d faults", s.Requests, s.Total())
	kinds := make([]Kind, 0, len(s.Faults))
	for k := range s.Faults {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kindIndex(kinds[i]) < kindIndex(kinds[j]) })
	for _, k := range kinds {
		out += fmt.Sprintf(" %s=%d", k, s.Faults[k])
	}
	return out
}

func kindIndex(k Kind) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds)
}

// pick decides the fault for one request, if any.
func (p *Proxy) pick() (Kind, time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if p.rnd.Float64() >= p.cfg.Rate {
		return "", 0, false
	}
	k := p.cfg.Kinds[p.rnd.IntN(len(p.cfg.Kinds))]
	p.counts[k]++
	return k, time.Duration(p.rnd.Int64N(int64(p.cfg.MaxLatency) + 1)), true
}

// ServeHTTP forwards r, or injects a fault.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, delay, ok := p.pick()
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch kind {
	case Status500, Status502, Status503:
		var code int
		fmt.Sscan(string(kind), &code)
		http.Error(w, "faultproxy: injected "+string(kind), code)
	case Status429:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "faultproxy: injected 429", http.StatusTooManyRequests)
	case Reset:
		reset(w)
	case Lost:
		rec := &discard{header: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		reset(w)
	case Latency:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		p.rp.ServeHTTP(w, r)
	}
}

// reset closes the client's connection without an answer, with an RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection all the same
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// discard is a ResponseWriter that drops the upstream's answer.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
