// Package faultproxy is a reverse proxy on 127.0.0.1 in front of one
// upstream service that injects transient faults at a configurable rate:
// HTTP 500, 502 and 503, 429 with Retry-After, connection resets (before
// the request reaches the upstream, or after, so that its answer is lost)
// and added latency. It can also add a fixed delay to every request (a
// network's round trip) and answer 429 with Retry-After to a client faster
// than a token bucket allows (a rate limit). It counts what it injected
// and the requests it saw. It only listens on and forwards to loopback
// addresses.
package faultproxy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
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
	// Throttled is a 429 with Retry-After from the token bucket (Config.
	// Bucket), never chosen at random.
	Throttled Kind = "throttled"
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
	// Delay is added to every request before it is forwarded: a round
	// trip across a network (at most maxLatencyBound).
	Delay time.Duration
	// Bucket, when its Rate is set, limits the requests forwarded.
	Bucket Bucket
}

// Bucket is a token bucket: Burst tokens at first, Rate more a second. A
// request that finds none is answered 429 with a Retry-After of the
// seconds until the next token (at least 1), as a rate-limited public
// service answers.
type Bucket struct {
	Rate  float64
	Burst int
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
	slowest  time.Duration // the longest a forwarded request took upstream
	last     time.Time     // when the last forwarded answer came back
	tokens   float64
	filled   time.Time
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
	cfg.Delay = min(max(cfg.Delay, 0), maxLatencyBound)
	if cfg.Bucket.Rate < 0 || cfg.Bucket.Rate > 0 && cfg.Bucket.Burst < 1 {
		return nil, fmt.Errorf("token bucket %+v: give a rate and a burst of at least 1", cfg.Bucket)
	}
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
		tokens: float64(cfg.Bucket.Burst), filled: time.Now(),
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

// SetBucket changes the token bucket, full to start with.
func (p *Proxy) SetBucket(b Bucket) {
	p.mu.Lock()
	p.cfg.Bucket, p.tokens, p.filled = b, float64(b.Burst), time.Now()
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

// Reset zeroes the counts.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.requests, p.counts, p.slowest = 0, map[Kind]int{}, 0
	p.mu.Unlock()
}

// Stats are what a proxy saw and injected.
type Stats struct {
	Requests int
	Faults   map[Kind]int
	// Slowest is the longest a forwarded request took upstream, the
	// proxy's delay left out.
	Slowest time.Duration
	// Last is when the last forwarded answer came back (zero: none yet).
	Last time.Time
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
	s := Stats{Requests: p.requests, Faults: map[Kind]int{}, Slowest: p.slowest, Last: p.last}
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

// take takes a token from the bucket, or says how long until there is
// one.
func (p *Proxy) take() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.cfg.Bucket
	if b.Rate == 0 {
		return 0, true
	}
	now := time.Now()
	p.tokens = min(p.tokens+now.Sub(p.filled).Seconds()*b.Rate, float64(b.Burst))
	p.filled = now
	if p.tokens >= 1 {
		p.tokens--
		return 0, true
	}
	p.counts[Throttled]++
	return time.Duration((1 - p.tokens) / b.Rate * float64(time.Second)), false
}

// forward sends r upstream, timing the upstream's answer.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p.rp.ServeHTTP(w, r)
	took := time.Since(start)
	p.mu.Lock()
	p.slowest, p.last = max(p.slowest, took), start.Add(took)
	p.mu.Unlock()
}

// ServeHTTP delays r by the configured round trip, then forwards it,
// throttles it, or injects a fault.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := p.cfg.Delay; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	kind, delay, ok := p.pick()
	if wait, ok := p.take(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		http.Error(w, "faultproxy: too many requests", http.StatusTooManyRequests)
		return
	}
	if !ok {
		p.forward(w, r)
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
		p.forward(w, r)
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
