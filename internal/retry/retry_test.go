package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSleep records the waits instead of sleeping.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

// script serves the given statuses in turn (then 200), recording bodies.
type script struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, string(b))
	code := http.StatusOK
	if n := len(s.bodies); n <= len(s.statuses) {
		code = s.statuses[n-1]
	}
	if code != http.StatusOK {
		for k, v := range s.header {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(code)
	io.WriteString(w, "answer")
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		header   http.Header
		body     func() io.Reader // nil: no body
		attempts int
		method   string // "" means POST
		// want
		code     int    // 0 when an error is wanted
		err      string // substring of the error
		requests int
		waits    []time.Duration // nil: not checked (jittered)
	}{
		{name: "503 then success", statuses: []int{503, 503}, code: 200, requests: 3},
		{name: "429 honours Retry-After", statuses: []int{429}, header: http.Header{"Retry-After": {"7"}},
			code: 200, requests: 2, waits: []time.Duration{7 * time.Second}},
		{name: "Retry-After is capped", statuses: []int{503}, header: http.Header{"Retry-After": {"3600"}},
			code: 200, requests: 2, waits: []time.Duration{MaxRetryAfter}},
		{name: "400 is not retried", statuses: []int{400}, code: 400, requests: 1, waits: []time.Duration{}},
		{name: "404 is not retried", statuses: []int{404}, code: 404, requests: 1, waits: []time.Duration{}},
		{name: "408 is retried", statuses: []int{408}, code: 200, requests: 2},
		{name: "body replayed", statuses: []int{502, 500}, body: func() io.Reader { return strings.NewReader("payload") },
			code: 200, requests: 3},
		{name: "gives up", statuses: []int{503, 503, 503}, attempts: 3, requests: 3,
			err: "giving up after 3 attempts: HTTP 503 Service Unavailable"},
		{name: "body not replayable", statuses: []int{503}, body: func() io.Reader { return io.MultiReader(strings.NewReader("payload")) },
			code: 503, requests: 1, waits: []time.Duration{}},
		{name: "throttled answers use no attempt", statuses: []int{429, 429, 503, 429}, attempts: 2,
			header: http.Header{"Retry-After": {"1"}}, code: 200, requests: 5,
			waits: []time.Duration{time.Second, time.Second, time.Second, time.Second}},
		{name: "a 503 without Retry-After is an attempt", statuses: []int{503, 503}, attempts: 2, requests: 2,
			err: "giving up after 2 attempts: HTTP 503 Service Unavailable"},
		{name: "throttled answers are bounded", statuses: repeat(429, MaxThrottled+1), attempts: 2,
			header: http.Header{"Retry-After": {"1"}}, requests: MaxThrottled + 1,
			err: "giving up after 101 attempts: HTTP 429 Too Many Requests"},
		{name: "PATCH not retried", statuses: []int{503}, method: http.MethodPatch,
			body: func() io.Reader { return strings.NewReader("chunk") }, code: 503, requests: 1, waits: []time.Duration{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{statuses: tc.statuses, header: tc.header}
			srv := httptest.NewServer(s)
			defer srv.Close()
			fs := &fakeSleep{}
			opts := []Option{WithSleep(fs.sleep), WithService("Test")}
			if tc.attempts > 0 {
				opts = append(opts, WithAttempts(tc.attempts))
			}
			c := &http.Client{Transport: New(nil, opts...)}
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			method := http.MethodPost
			if tc.method != "" {
				method = tc.method
			}
			req, err := http.NewRequest(method, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "Test "+srv.URL) {
					t.Fatalf("error %v, want one naming %q and the service", err, tc.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if diff := cmp.Diff(tc.code, resp.StatusCode); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff("answer", string(b)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.requests, len(s.bodies)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tc.body != nil && tc.requests > 1 {
				want := make([]string, tc.requests)
				for i := range want {
					want[i] = "payload"
				}
				if diff := cmp.Diff(want, s.bodies); diff != "" {
					t.Errorf("bodies sent (-want +got):\n%s", diff)
				}
			}
			if tc.waits != nil {
				if diff := cmp.Diff(tc.waits, append([]time.Duration{}, fs.waits...)); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestTransportContext(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget bool // cancel the budget instead of the request's context
	}{
		{name: "request context"},
		{name: "budget", budget: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{statuses: []int{503, 503, 503, 503, 503, 503, 503, 503, 503, 503}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The deadline arrives during the second wait.
			waits := 0
			sleep := func(c context.Context, d time.Duration) error {
				if waits++; waits == 2 {
					cancel()
				}
				return c.Err()
			}
			opts := []Option{WithSleep(sleep)}
			reqCtx := ctx
			if tc.budget {
				opts, reqCtx = append(opts, WithBudget(ctx)), context.Background()
			}
			c := &http.Client{Transport: New(nil, opts...)}
			req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, srv.URL, nil)
			_, err := c.Do(req)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want a retry.Error wrapping context.Canceled", err)
			}
			if diff := cmp.Diff(2, e.Attempts); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectionErrorsRetried(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	fs := &fakeSleep{}
	c := &http.Client{Transport: New(nil, WithSleep(fs.sleep))}
	resp, err := c.Post(srv.URL, "text/plain", bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]int{http.StatusCreated, 2}, []int{resp.StatusCode, n}); diff != "" {
		t.Errorf("status, requests (-want +got):\n%s", diff)
	}
}

func TestDo(t *testing.T) {
	errFlaky := &StatusError{StatusCode: 502}
	errBad := errors.New("bad input")
	errThrottled := fmt.Errorf("adding entry: %w", &StatusError{StatusCode: 429, After: 7 * time.Second})
	for _, tc := range []struct {
		name  string
		fails []error
		calls int
		err   string
		waits []time.Duration // nil: not checked (jittered)
	}{
		{name: "succeeds after transient failures", fails: []error{errFlaky, errFlaky}, calls: 3},
		{name: "permanent failure at once", fails: []error{errBad}, calls: 1, err: "bad input"},
		{name: "gives up", fails: []error{errFlaky, errFlaky, errFlaky, errFlaky}, calls: 4,
			err: "Rekor: giving up after 4 attempts: HTTP 502 Bad Gateway"},
		{name: "waits as throttled, using no attempt", fails: []error{errThrottled, errThrottled, errThrottled, errThrottled, errFlaky},
			calls: 6, waits: []time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second, 7 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			fs := &fakeSleep{}
			err := Do(context.Background(), func() error {
				calls++
				if calls <= len(tc.fails) {
					return tc.fails[calls-1]
				}
				return nil
			}, nil, WithAttempts(4), WithSleep(fs.sleep), WithService("Rekor"))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.err, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.calls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if tc.waits != nil {
				if diff := cmp.Diff(tc.waits, fs.waits[:min(len(fs.waits), len(tc.waits))]); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// repeat is n times status.
func repeat(status, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = status
	}
	return out
}

func TestRedo(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"transient", &StatusError{StatusCode: 503}, true},
		{"permanent", &StatusError{StatusCode: 403}, false},
		{"already retried", &Error{Attempts: 5, Err: &StatusError{StatusCode: 503}, Replayable: true}, false},
		{"not replayable", &Error{Attempts: 1, Err: io.ErrUnexpectedEOF}, true},
		{"deadline", context.DeadlineExceeded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Redo(tc.err)); diff != "" {
				t.Errorf("Redo(%v) (-want +got):\n%s", tc.err, diff)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, ok := parseRetryAfter(tc.in, now)
			if diff := cmp.Diff([2]any{tc.want, tc.ok}, [2]any{d, ok}); diff != "" {
				t.Errorf("retryAfter(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
