package retry

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Transport is an http.RoundTripper that retries transient failures:
// connection errors, timeouts, HTTP 5xx, 408 and 429 (honouring
// Retry-After). It retries only requests whose body can be sent again
// (none, or GetBody set), never a PATCH, and stops when the request's
// context or the budget is done. Another 4xx, or any success, is
// returned at once.
type Transport struct {
	base http.RoundTripper
	o    options
}

// New returns a Transport that sends requests through base (nil means
// http.DefaultTransport).
func New(base http.RoundTripper, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, o: newOptions(opts)}
}

// RoundTrip sends req, retrying transient failures.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	service := t.service(req)
	hasBody := req.Body != nil && req.Body != http.NoBody
	// PATCH is not idempotent (a registry appends a blob chunk to its
	// upload session): its caller redoes the whole operation instead.
	replayable := (!hasBody || req.GetBody != nil) && req.Method != http.MethodPatch
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, &Error{Service: service, Attempts: attempt - 1, Err: err, Replayable: true}
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		r, done := t.bound(r)
		resp, err := t.base.RoundTrip(r)
		var failure error
		switch {
		case err != nil && Temporary(err) && ctx.Err() == nil && t.budgetErr() == nil:
			failure = err
		case err != nil:
			done()
			if t.budgetErr() != nil {
				return nil, &Error{Service: service, Attempts: attempt, Err: err, Stopped: t.budgetErr(), Replayable: true}
			}
			return nil, err
		case TemporaryStatus(resp.StatusCode) && replayable:
			failure = &StatusError{StatusCode: resp.StatusCode}
		default:
			resp.Body = &doneBody{ReadCloser: resp.Body, done: done}
			return resp, nil
		}
		if !replayable {
			done()
			return nil, &Error{Service: service, Attempts: attempt, Err: failure}
		}
		delay := t.o.backoff(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				delay = min(ra, t.o.maxRetryAfter)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		done()
		if attempt >= t.o.attempts {
			return nil, &Error{Service: service, Attempts: attempt, Err: failure, Replayable: true}
		}
		if serr := t.o.wait(ctx, delay); serr != nil {
			return nil, &Error{Service: service, Attempts: attempt, Err: failure, Stopped: serr, Replayable: true}
		}
	}
}

func (t *Transport) service(req *http.Request) string {
	s := req.URL.Scheme + "://" + req.URL.Host
	if t.o.service != "" {
		s = t.o.service + " " + s
	}
	return s
}

func (t *Transport) budgetErr() error {
	if t.o.budget == nil {
		return nil
	}
	return t.o.budget.Err()
}

// bound returns r with a context that the budget also cancels, and the
// function that releases it once the response body is closed.
func (t *Transport) bound(r *http.Request) (*http.Request, func()) {
	if t.o.budget == nil {
		return r, func() {}
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(t.o.budget, func() { cancel(context.Cause(t.o.budget)) })
	return r.WithContext(ctx), func() { stop(); cancel(nil) }
}

// doneBody releases the attempt's context when the body is closed.
type doneBody struct {
	io.ReadCloser
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
