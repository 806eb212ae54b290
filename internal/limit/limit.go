// Package limit bounds how many calls to one service are in flight, and
// adapts the bound to the service: it halves when the service says it is
// overloaded (HTTP 429, or 503 with Retry-After) and grows back by one per
// round of successful calls, up to the bound it started with. A Limiter
// with a ceiling also adapts to latency: while the service answers as
// fast as it ever did, its wait is the network's and not its own queue's,
// so more calls in flight bring more answers, and the bound grows toward
// the ceiling; when the answers slow down, it shrinks back.
package limit

import (
	"context"
	"sync"
	"time"
)

// Limiter is an adaptive concurrency limit. The zero value is not usable:
// call New.
type Limiter struct {
	mu      sync.Mutex
	floor   int // the bound it started with
	ceiling int // the most the bound grows to with latency (floor: never)
	bound   int // the bound it grows back to, floor ≤ bound ≤ ceiling
	limit   int // the current bound, 1 ≤ limit ≤ bound
	inUse   int
	ok      int // successes since the limit last changed
	sinceDn int // releases since the last halving
	pending int // calls in flight at the last halving
	fastest time.Duration
	paused  time.Time // no call starts before
	waiters []chan struct{}
}

// New returns a Limiter that allows n calls at once (at least 1).
func New(n int) *Limiter {
	n = max(n, 1)
	return &Limiter{floor: n, ceiling: n, bound: n, limit: n}
}

// Grow lets l's bound grow up to ceiling with latency (see Done).
func (l *Limiter) Grow(ceiling int) {
	l.mu.Lock()
	l.ceiling = max(ceiling, l.floor)
	l.mu.Unlock()
}

// Done frees a slot as Release does, given how long the call took
// (0: unknown). With a ceiling (Grow), a call answered within twice the
// fastest answer so far, while others waited for a slot, raises the bound
// by one (so that it doubles in a round of such calls); a slower one
// lowers it by one, down to the bound New was given. Twice the fastest
// keeps the bound where the service's own wait is at most the network's
// round trip: on a nearby service, whose fastest answer takes a
// millisecond, nothing grows.
func (l *Limiter) Done(overloaded bool, took time.Duration) {
	l.mu.Lock()
	if !overloaded && took > 0 && l.ceiling > l.floor {
		if l.fastest == 0 || took < l.fastest {
			l.fastest = took
		}
		switch fast := took <= 2*l.fastest; {
		case fast && len(l.waiters) > 0 && l.limit == l.bound && l.bound < l.ceiling:
			l.bound++
			l.limit++
		case !fast && l.bound > l.floor:
			l.bound--
			l.limit = min(l.limit, l.bound)
		}
	}
	l.mu.Unlock()
	l.Release(overloaded)
}

// Pause starts no call for d (a service's Retry-After): the calls that
// wait meanwhile are sent when it ends, within the limit, instead of
// each coming back on its own and being refused again.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	if until := time.Now().Add(d); until.After(l.paused) {
		l.paused = until
	}
	l.mu.Unlock()
}

// Acquire waits for a free slot, and for a pause to end, or until ctx is
// done.
func (l *Limiter) Acquire(ctx context.Context) error {
	if err := l.slot(ctx); err != nil {
		return err
	}
	// A slot handed over during a pause waits for its end.
	if err := l.pause(ctx); err != nil {
		l.mu.Lock()
		l.inUse--
		l.wake()
		l.mu.Unlock()
		return err
	}
	return nil
}

// slot waits for a free slot, first come first served.
func (l *Limiter) slot(ctx context.Context) error {
	l.mu.Lock()
	if l.inUse < l.limit && len(l.waiters) == 0 {
		l.inUse++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil // the slot was handed over by release
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Handed a slot while giving up: pass it on.
		l.inUse--
		l.wake()
		return ctx.Err()
	}
}

// Release frees a slot. overloaded says the service refused the call for
// load: the limit halves, but only for a call started after the last
// halving, so that one burst of refusals halves it once.
func (l *Limiter) Release(overloaded bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	l.sinceDn++
	switch {
	case overloaded && l.sinceDn > l.pending:
		l.limit = max(l.limit/2, 1)
		l.ok, l.sinceDn, l.pending = 0, 0, l.inUse
	case overloaded:
	case l.limit < l.bound:
		if l.ok++; l.ok >= l.limit {
			l.limit++
			l.ok = 0
		}
	}
	l.wake()
}

// Limit returns the current bound.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// wake hands free slots to waiters, first come first served.
func (l *Limiter) wake() {
	for l.inUse < l.limit && len(l.waiters) > 0 {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.inUse++
		close(ch)
	}
}

// pause waits for the pause to end, however often it is extended.
func (l *Limiter) pause(ctx context.Context) error {
	for {
		l.mu.Lock()
		left := time.Until(l.paused)
		l.mu.Unlock()
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
