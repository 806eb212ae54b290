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
			w.Header().Set("Retry-After", "1")
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
