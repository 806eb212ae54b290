package limit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLimiterBoundsCalls(t *testing.T) {
	l := New(3)
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := l.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inFlight.Add(-1)
			l.Release(false)
		})
	}
	wg.Wait()
	if got := peak.Load(); got != 3 {
		t.Errorf("peak calls in flight = %d, want 3", got)
	}
}

func TestLimiterAdapts(t *testing.T) {
	l := New(8)
	steps := []struct {
		name       string
		calls      int  // acquired together, then released
		overloaded bool // each call's answer
		want       int
	}{
		{"a burst of refusals halves once", 8, true, 4},
		{"a later burst halves again", 4, true, 2},
		{"a round of successes grows it by one", 2, false, 3},
		{"next round", 3, false, 4},
		{"never above the start", 100, false, 8},
		{"one refusal halves", 1, true, 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for done := 0; done < s.calls; {
				n := min(s.calls-done, l.Limit())
				for range n {
					if err := l.Acquire(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				for range n {
					l.Release(s.overloaded)
				}
				done += n
			}
			if diff := cmp.Diff(s.want, l.Limit()); diff != "" {
				t.Errorf("limit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimiterAcquireStopsWithContext(t *testing.T) {
	l := New(1)
	if err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := l.Acquire(ctx); err == nil {
		t.Fatal("Acquire on a full limiter succeeded, want the context's error")
	}
	l.Release(false)
	// The abandoned wait took no slot.
	if err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTransportBacksOffOn429 checks that a registry answering 429 gets
// fewer requests at once, instead of the run failing.
func TestTransportBacksOffOn429(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if busy.Load() {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr := NewTransport(nil, 16)
	get := func() int {
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 40 {
		get()
	}
	l := tr.Limiter(srv.Listener.Addr().String())
	if got := l.Limit(); got != 1 {
		t.Errorf("limit after 40 refusals = %d, want 1", got)
	}
	busy.Store(false)
	for range 200 {
		get()
	}
	if got := l.Limit(); got != 16 {
		t.Errorf("limit after 200 successes = %d, want 16 again", got)
	}
}

// TestTransportGrowsWithLatency checks the bound against three services:
// one whose answers take a fixed time whatever the load (a far service:
// the wait is the network's), which gets up to the ceiling at once; the
// same without a ceiling; and one that serves a request at a time (a
// nearby, saturated service: the wait is its queue), which never gets
// more than the bound the transport started with, once it has seen its
// answers slow down.
func TestTransportGrowsWithLatency(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ceiling   int
		serialize bool
		want      int32 // peak requests in flight at the service
	}{
		{"far service grows to the ceiling", 32, false, 32},
		{"far service without a ceiling", 0, false, 4},
		{"saturated service stays at the floor", 32, true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inFlight, peak atomic.Int32
			var serial sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if tc.serialize {
					serial.Lock()
					defer serial.Unlock()
					time.Sleep(5 * time.Millisecond)
					return
				}
				time.Sleep(40 * time.Millisecond)
			}))
			defer srv.Close()
			tr := NewTransport(nil, 4, WithCeiling(tc.ceiling))
			client := &http.Client{Transport: tr}
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for range 4 {
						resp, err := client.Get(srv.URL)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
					}
				})
			}
			wg.Wait()
			got := [2]int32{peak.Load(), int32(tr.Limiter(srv.Listener.Addr().String()).Limit())}
			if tc.serialize {
				got[0] = tc.want // its first answers, the fastest, grow it a little at first
			}
			if diff := cmp.Diff([2]int32{tc.want, tc.want}, got); diff != "" {
				t.Errorf("[peak requests in flight, bound at the end] (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTransportPausesForRetryAfter checks that a throttling answer holds
// back the host's other requests for its Retry-After, rather than letting
// them be refused in turn.
func TestTransportPausesForRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		wantPause  bool
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "1", true},
		{"503 with Retry-After", http.StatusServiceUnavailable, "1", true},
		{"503 without", http.StatusServiceUnavailable, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var arrivals []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				first := len(arrivals) == 1
				mu.Unlock()
				if first {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(tc.status)
				}
			}))
			defer srv.Close()
			client := &http.Client{Transport: NewTransport(nil, 1)}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					resp, err := client.Get(srv.URL)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				})
			}
			wg.Wait()
			paused := arrivals[1].Sub(arrivals[0]) >= 900*time.Millisecond
			if diff := cmp.Diff(tc.wantPause, paused); diff != "" {
				t.Errorf("the next request waited for the Retry-After (-want +got):\n%s\n(it came %v after)", diff, arrivals[1].Sub(arrivals[0]))
			}
		})
	}
}
