// Package retry retries transient failures of network calls within the
// run's time budget: Transport for HTTP services, Do for any other
// operation. A permanent failure is returned at once; every error that
// gives up names the service and how many attempts were made.
//
// A run retries in six layers, one per kind of call:
//
//	service                 mechanism                                   why not ggcr's or retryablehttp's alone
//	registry requests       Transport (service "registry")              ggcr retries only its own status list and
//	                                                                    knows nothing of the run's budget
//	registry blob uploads   ggcr's remote.WithRetryBackoff, redoing     a failed PATCH cannot be replayed by a
//	                        the whole upload (job.redoUpload)           transport: the upload session is gone
//	Fulcio, TSA, TUF        Transport with WithBudget                   sigstore-go sends these without a context;
//	                                                                    the budget stops them at the run's deadline
//	runner token endpoint   Do around each request (oidc package)       go-githubactions takes a client but hides
//	                                                                    the status: the library's error is asked
//	Rekor v1                sigstore-go's retryablehttp client          its client takes no transport of ours
//	Rekor v2                Do around the whole signing, on the         an entry that timed out may be logged: only
//	                        transient errors of the log (sign package); signing anew is safe, not replaying a POST
//	                        a 429 is sent again as it was               (a 429 says the entry was not taken)
//
// A throttling answer (429, or 503 with Retry-After) is waited for as long
// as it asks and uses up no attempt, up to MaxThrottled of them. Under all
// of them, internal/limit bounds the requests in flight per host, halves
// the bound on 429 and holds the host's other requests for the
// Retry-After, so retries meet a service that is shedding load with fewer
// requests, not more.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Defaults, in one place.
const (
	// defaultAttempts is how many times a call is tried in all: at a 20%
	// fault rate ten attempts fail together once in ten million calls, and
	// public-good Rekor has bursts of 502s that outlast two or three.
	defaultAttempts = 10
	// defaultBaseDelay is the first wait: long enough for a restarting
	// load balancer backend, short enough that one blip costs little.
	defaultBaseDelay = 250 * time.Millisecond
	// defaultMaxDelay caps one wait, so that ten attempts take about 25s
	// in all and a service that is down is named well within the default
	// 10m budget (the run's context deadline stops them sooner).
	defaultMaxDelay = 4 * time.Second
	// MaxRetryAfter caps a server's Retry-After, so that a rate limiter
	// asking for minutes cannot eat the whole budget in one wait.
	MaxRetryAfter = 30 * time.Second
	// MaxThrottled bounds how often one call is told to come back later
	// (429, or 503 with Retry-After): such an answer uses up no attempt,
	// since a rate limiter that is waited for as it asks lets the call
	// through, but a service that never does ends the call, at most
	// about 100 Retry-Afters in (the run's budget may end it sooner).
	MaxThrottled = 100
)

// Option configures a Transport or Do.
type Option func(*options)

type options struct {
	attempts      int
	base, max     time.Duration
	maxRetryAfter time.Duration
	service       string
	budget        context.Context
	sleep         func(ctx context.Context, d time.Duration) error
}

func newOptions(opts []Option) options {
	o := options{
		attempts: defaultAttempts, base: defaultBaseDelay, max: defaultMaxDelay,
		maxRetryAfter: MaxRetryAfter, sleep: sleep,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.attempts < 1 {
		o.attempts = 1
	}
	return o
}

// WithAttempts sets how many times a call is tried in all (at least 1).
func WithAttempts(n int) Option { return func(o *options) { o.attempts = n } }

// WithBackoff sets the first wait and the cap of one wait; waits double
// between attempts, with jitter.
func WithBackoff(base, max time.Duration) Option {
	return func(o *options) { o.base, o.max = base, max }
}

// WithService names the service in errors, e.g. "Fulcio"; a Transport
// adds the request's scheme and host.
func WithService(name string) Option { return func(o *options) { o.service = name } }

// WithBudget bounds every attempt and wait by ctx as well as by the
// request's own context: for clients that build requests without a
// context (sigstore-go's Fulcio and TSA clients), so that the run's
// deadline still stops them.
func WithBudget(ctx context.Context) Option { return func(o *options) { o.budget = ctx } }

// WithSleep replaces the wait between attempts (a fake clock for tests).
// sleep returns ctx's error when ctx is done first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait after the given failed attempt (1-based):
// exponential, capped, with equal jitter (between half and all of it).
func (o *options) backoff(attempt int) time.Duration {
	d := o.base
	for i := 1; i < attempt && d < o.max; i++ {
		d *= 2
	}
	d = min(d, o.max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// wait sleeps for d, or until ctx or the budget is done.
func (o *options) wait(ctx context.Context, d time.Duration) error {
	if o.budget != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(o.budget, cancel)
		defer stop()
		err := o.sleep(ctx, d)
		if o.budget.Err() != nil {
			return o.budget.Err()
		}
		return err
	}
	return o.sleep(ctx, d)
}

// Do calls f until it succeeds, fails permanently (isTemporary is false;
// nil means Temporary), the attempts run out, or ctx is done. A failure
// that holds a *StatusError with After (the service's Retry-After) is
// waited for that long and uses up no attempt.
func Do(ctx context.Context, f func() error, isTemporary func(error) bool, opts ...Option) error {
	o := newOptions(opts)
	if isTemporary == nil {
		isTemporary = Temporary
	}
	for attempt, calls, throttled := 1, 1, 0; ; calls++ {
		err := f()
		if err == nil || !isTemporary(err) {
			return err
		}
		var se *StatusError
		delay := o.backoff(attempt)
		switch {
		case errors.As(err, &se) && se.After > 0:
			if throttled++; throttled > MaxThrottled {
				return &Error{Service: o.service, Attempts: calls, Err: err, Replayable: true}
			}
			delay = min(se.After, o.maxRetryAfter)
		case attempt >= o.attempts:
			return &Error{Service: o.service, Attempts: calls, Err: err, Replayable: true}
		default:
			attempt++
		}
		if serr := o.wait(ctx, delay); serr != nil {
			return &Error{Service: o.service, Attempts: calls, Err: err, Stopped: serr, Replayable: true}
		}
	}
}

// Error is a call given up on after transient failures.
type Error struct {
	// Service names the service: its name, scheme and host.
	Service string
	// Attempts is how many times the call was tried.
	Attempts int
	// Err is the last failure.
	Err error
	// Stopped is the context's error when the budget ran out first.
	Stopped error
	// Replayable is false when the request body could not be sent again,
	// so the call was tried once: the caller may redo it as a whole.
	Replayable bool
}

// Error returns the message.
func (e *Error) Error() string {
	var s string
	if e.Service != "" {
		s = e.Service + ": "
	}
	s += fmt.Sprintf("giving up after %d attempt", e.Attempts)
	if e.Attempts != 1 {
		s += "s"
	}
	switch {
	case e.Stopped != nil:
		s += fmt.Sprintf(" (%v)", e.Stopped)
	case !e.Replayable:
		s += " (the request cannot be replayed)"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the last failure and, when the budget ran out, its error.
func (e *Error) Unwrap() []error {
	if e.Stopped != nil {
		return []error{e.Err, e.Stopped}
	}
	return []error{e.Err}
}

// StatusError is a transient HTTP status that was retried to no avail.
type StatusError struct {
	StatusCode int
	// After is the Retry-After of a throttling answer (After), 0 if none.
	After time.Duration
}

// Error returns the message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// TemporaryStatus reports whether an HTTP status is worth retrying: 408,
// 429 and 5xx other than 501 Not Implemented.
func TemporaryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		code >= 500 && code <= 599 && code != http.StatusNotImplemented
}

// Temporary reports whether err is a transient failure: a connection
// error (reset, refused, EOF), a timeout or a transient HTTP status. The
// end of a context is not.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return TemporaryStatus(se.StatusCode)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var ne net.Error
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &op) ||
		errors.As(err, &ne) && ne.Timeout()
}

// Redo reports whether an operation that failed with err is worth doing
// again as a whole: the failure is transient and no Transport has already
// retried it (its request body could not be replayed).
func Redo(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return !e.Replayable && e.Stopped == nil && Temporary(e.Err)
	}
	return Temporary(err)
}
