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
	// calls counts the requests sent, attempt those that used up an
	// attempt: a throttling answer, waited for as it asks, uses none.
	for attempt, calls, throttled := 1, 1, 0; ; calls++ {
		r := req
		if calls > 1 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, &Error{Service: service, Attempts: calls - 1, Err: err, Replayable: true}
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
				return nil, &Error{Service: service, Attempts: calls, Err: err, Stopped: t.budgetErr(), Replayable: true}
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
			return nil, &Error{Service: service, Attempts: calls, Err: failure}
		}
		delay := t.o.backoff(attempt)
		wait, throttling := time.Duration(0), false
		if resp != nil {
			if wait, throttling = After(resp); throttling {
				delay = min(wait, t.o.maxRetryAfter)
			} else if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				delay = min(ra, t.o.maxRetryAfter)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		done()
		switch {
		case throttling:
			if throttled++; throttled > MaxThrottled {
				return nil, &Error{Service: service, Attempts: calls, Err: failure, Replayable: true}
			}
		case attempt >= t.o.attempts:
			return nil, &Error{Service: service, Attempts: calls, Err: failure, Replayable: true}
		default:
			attempt++
		}
		if serr := t.o.wait(ctx, delay); serr != nil {
			return nil, &Error{Service: service, Attempts: calls, Err: failure, Stopped: serr, Replayable: true}
		}
	}
}

// After returns how long resp, a throttling answer (429 Too Many
// Requests, or 503 with a Retry-After), asks the client to wait: its
// Retry-After, at most MaxRetryAfter, or a second when it gives none
// that parses. ok is false for any other answer.
func After(resp *http.Response) (time.Duration, bool) {
	ra, parsed := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && parsed:
	case resp.StatusCode != http.StatusTooManyRequests:
		return 0, false
	case !parsed:
		ra = time.Second
	}
	return min(max(ra, time.Millisecond), MaxRetryAfter), true
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

// parseRetryAfter parses a Retry-After header: delay-seconds or an HTTP
// date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
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
