package sign

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
)

// arrivals is a log that counts the writes that reached burst and records,
// for each write it receives, how many had reached burst by then.
type arrivals struct {
	arrived atomic.Int32
	mu      sync.Mutex
	seen    []int32
}

func (a *arrivals) GetTransparencyLogEntry(context.Context, []byte, *protobundle.Bundle) error {
	a.mu.Lock()
	a.seen = append(a.seen, a.arrived.Load())
	a.mu.Unlock()
	return nil
}

// write sends one write through t, counting its arrival.
func (a *arrivals) write(ctx context.Context, t *burst) error {
	a.arrived.Add(1)
	return t.GetTransparencyLogEntry(ctx, nil, &protobundle.Bundle{})
}

func TestBurstSendsTheFirstWritesTogether(t *testing.T) {
	log := &arrivals{}
	b := &burst{log: log, gap: 200 * time.Millisecond, max: 10 * time.Second}
	var wg sync.WaitGroup
	const n = 10
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			if err := log.write(context.Background(), b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// No write of the burst reached the log before the last had arrived.
	for i, seen := range log.seen {
		if seen != n {
			t.Errorf("write %d reached the log when %d of %d had arrived", i, seen, n)
		}
	}
	// Once the burst is sent, a write goes straight through: it would
	// otherwise wait the gap, and fail its context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := log.write(ctx, b); err != nil {
		t.Errorf("a write after the burst: %v", err)
	}
}

func TestBurstHoldsAtMostMax(t *testing.T) {
	for _, n := range []int{1, 2} {
		log := &arrivals{}
		b := &burst{log: log, gap: time.Hour, max: 50 * time.Millisecond}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if err := log.write(ctx, b); err != nil {
					t.Errorf("%d writes: %v", n, err)
				}
			})
		}
		wg.Wait()
		cancel()
		if len(log.seen) != n {
			t.Errorf("the log received %d writes, want %d", len(log.seen), n)
		}
	}
}

func TestBurstWaitEndsWithItsContext(t *testing.T) {
	log := &arrivals{}
	b := &burst{log: log, gap: time.Hour, max: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := log.write(ctx, b); !errors.Is(err, context.Canceled) {
		t.Errorf("a held write whose context ended: error %v, want context.Canceled", err)
	}
	if len(log.seen) != 0 {
		t.Errorf("the log received %d writes, want none", len(log.seen))
	}
}

func TestBurstSentWhenEveryExpectedWriteArrived(t *testing.T) {
	for _, n := range []int{1, 5} {
		log := &arrivals{}
		// Neither the gap nor max would ever end this burst.
		b := &burst{log: log, gap: time.Hour, max: time.Hour}
		b.Expect(n)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 5 * time.Millisecond)
				if err := log.write(ctx, b); err != nil {
					t.Errorf("%d expected writes: %v", n, err)
				}
			})
		}
		wg.Wait()
		cancel()
		for i, seen := range log.seen {
			if seen != int32(n) {
				t.Errorf("%d expected writes: write %d reached the log when %d had arrived", n, i, seen)
			}
		}
	}
}
