package job

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/registry"
)

func TestForEachBoundsAndRunsAll(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	seen := make([]bool, 100)
	forEach(7, len(seen), func(i int) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		seen[i] = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	if peak > 7 {
		t.Errorf("peak in flight = %d, want at most 7", peak)
	}
	for i, ok := range seen {
		if !ok {
			t.Errorf("item %d was never worked on", i)
		}
	}
}

// TestProgressLogsCountsNotImages checks that a run logs a failed image at
// once and otherwise no line per image.
func TestProgressLogsCountsNotImages(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := startProgress(log, "signing", 1000)
	d, err := name.NewDigest("registry.example/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	s := registry.Subject{Digest: d}
	for range 999 {
		p.done(s, Subject{Digest: d.String()}, false)
	}
	p.done(s, Subject{Digest: d.String(), Err: errors.New("boom")}, false)
	p.line()
	p.stop()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2 (the failure, the counts):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], d.String()) {
		t.Errorf("first line %q does not name the failed image", lines[0])
	}
	if !strings.Contains(lines[1], "done=1000 of=1000 failed=1") {
		t.Errorf("counts line %q, want done=1000 of=1000 failed=1", lines[1])
	}
}
