package sign

import (
	"context"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Defaults of a run's first burst of Rekor v2 writes, in one place.
const (
	// burstGap ends the burst: this long without another write, unless
	// every write the run expects has arrived. Writes of a concurrent run
	// arrive a few milliseconds apart, and up to tens of milliseconds on
	// a loaded machine.
	burstGap = 100 * time.Millisecond
	// burstMax bounds how long the first write is held: a large run's
	// first writes are sent together, and the rest as they come.
	burstMax = 400 * time.Millisecond
)

// burst sends a run's first Rekor v2 writes together. A Rekor v2 write is
// answered once a published checkpoint covers it, and the log publishes
// at most once per checkpoint interval: an idle log publishes right after
// it integrates the first batch, and every write that missed that batch
// waits a whole interval more (1 s on the local stack, 10 s by tessera's
// default). Held until they stop coming, a run's first writes share the
// first batch and so the first checkpoint; after that, writes pass
// straight through, each into the next checkpoint.
type burst struct {
	log      sgsign.Transparency
	gap, max time.Duration

	mu      sync.Mutex
	expect  int // writes the run expects; 0: unknown
	arrived int
	done    bool          // the burst was sent: pass straight through
	release chan struct{} // closed when the burst is sent
	timer   *time.Timer
	first   time.Time
}

var _ sgsign.Transparency = (*burst)(nil)

func newBurst(log sgsign.Transparency) *burst {
	return &burst{log: log, gap: burstGap, max: burstMax}
}

// Expect tells the burst how many writes the run will make at most: the
// burst is sent as soon as that many have arrived (a run of one image is
// not held at all), and otherwise burstGap after the last.
func (t *burst) Expect(n int) {
	t.mu.Lock()
	t.expect = n
	t.mu.Unlock()
}

// GetTransparencyLogEntry writes b's entry, once the burst it is part of
// is sent.
func (t *burst) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	if err := t.wait(ctx); err != nil {
		return err
	}
	return t.log.GetTransparencyLogEntry(ctx, keyOrCertPEM, b)
}

// wait joins the burst and returns when it is sent: burstGap after its
// last write arrived, or burstMax after its first.
func (t *burst) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return nil
	}
	now := time.Now()
	t.arrived++
	if t.release == nil {
		t.release, t.first = make(chan struct{}), now
		t.timer = time.AfterFunc(min(t.gap, t.max), t.send)
	} else if left := t.first.Add(t.max).Sub(now); left > 0 {
		t.timer.Reset(min(t.gap, left))
	}
	release := t.release
	if t.expect > 0 && t.arrived >= t.expect {
		t.sendLocked()
	}
	t.mu.Unlock()
	select {
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *burst) send() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sendLocked()
}

func (t *burst) sendLocked() {
	if !t.done {
		t.done = true
		t.timer.Stop()
		close(t.release)
	}
}
