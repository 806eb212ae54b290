// Package limit bounds how many calls to one service are in flight, and
// adapts the bound to the service: it halves when the service says it is
// overloaded (HTTP 429, or 503 with Retry-After) and grows back by one per
// round of successful calls, up to the bound it started with.
package limit

import (
	"context"
	"sync"
)

// Limiter is an adaptive concurrency limit. The zero value is not usable:
// call New.
type Limiter struct {
	mu      sync.Mutex
	bound   int // the bound it started with and grows back to
	limit   int // the current bound, 1 ≤ limit ≤ max
	inUse   int
	ok      int // successes since the limit last changed
	sinceDn int // releases since the last halving
	pending int // calls in flight at the last halving
	waiters []chan struct{}
}

// New returns a Limiter that allows n calls at once (at least 1).
func New(n int) *Limiter {
	n = max(n, 1)
	return &Limiter{bound: n, limit: n}
}

// Acquire waits for a free slot, or until ctx is done.
func (l *Limiter) Acquire(ctx context.Context) error {
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
