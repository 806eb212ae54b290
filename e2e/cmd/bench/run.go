package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// run builds keyless, and measures every format and number of images,
// then prints the tables.
func run(ctx context.Context, o options) error {
	s, err := stack.Running(ctx, "")
	if err != nil {
		return err
	}
	s.CosignV2, s.CosignV3 = cmp.Or(o.cosignV2, s.CosignV2), cmp.Or(o.cosignV3, s.CosignV3)
	if o.cosignMax > 0 {
		for flag, bin := range map[string]string{"-cosign-v2": s.CosignV2, "-cosign-v3": s.CosignV3} {
			if _, err := os.Stat(bin); err != nil {
				return fmt.Errorf("%w: give the cosign binary with %s, or -cosign-max 0", err, flag)
			}
		}
	}
	work, err := os.MkdirTemp("", "keyless-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var flags []string
	if o.profiles != "" {
		if o.profiles, err = filepath.Abs(o.profiles); err != nil {
			return err
		}
		if err := os.MkdirAll(o.profiles, 0o755); err != nil {
			return err
		}
		overlay, err := profileOverlay("..", work)
		if err != nil {
			return err
		}
		flags = append(flags, "-overlay="+overlay)
	}
	bin, err := stack.Build(ctx, "./cmd/action", work, flags...)
	if err != nil {
		return err
	}
	// Runs compared turn by turn go through the proxies, which mark the
	// log's poll for both tools of a turn (bench.sleepPhase).
	net, err := newNetwork(s, work, o.rtt, o.proxy || o.runs > 1)
	if err != nil {
		return err
	}
	defer net.close()
	b := &bench{stack: s, net: net, bin: bin, work: work, runID: time.Now().UTC().Format("20060102-150405"),
		concurrency: o.concurrency, profiles: o.profiles, settle: o.settle}
	if net.set != nil {
		// An untimed first run finds the poll for the first turn.
		if _, err := b.keyless(ctx, "bundle", 1); err != nil {
			return err
		}
	}
	var rows []row
	for _, f := range o.formats {
		if _, ok := signingConfigs(s)[f]; !ok {
			return fmt.Errorf("-format: unknown format %q: use bundle, legacy or both", f)
		}
		for _, n := range o.counts {
			r := row{format: f, images: n, rtt: o.rtt}
			for i := range o.runs {
				b.phase = turnPhase()
				m, err := b.keyless(ctx, f, n)
				if err != nil {
					return err
				}
				r.keyless = append(r.keyless, m)
				fmt.Fprintf(os.Stderr, "keyless %s %d, run %d of %d: %s\n", f, n, i+1, o.runs, m)
				if n > o.cosignMax {
					continue
				}
				if m, err = b.cosign(ctx, f, n); err != nil {
					return err
				}
				r.cosign = append(r.cosign, m)
				fmt.Fprintf(os.Stderr, "cosign %s %d, run %d of %d: %s\n", f, n, i+1, o.runs, m)
			}
			if o.runs > 1 {
				fmt.Fprintf(os.Stderr, "%s %d: %s\n", f, n, r.summary())
			}
			rows = append(rows, r)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stdout, "\n%d cores (GOMAXPROCS %d), %s, load average %s; %d run(s) each, %v settle; cosign run up to %d images (— above)\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02 15:04 MST"), loadavg(load), o.runs, o.settle, o.cosignMax)
	printTable(os.Stdout, rows, runtime.NumCPU())
	if net.set != nil {
		fmt.Fprintln(os.Stdout)
		printRequests(os.Stdout, rows)
	}
	return nil
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg(b []byte) string {
	var one, five, fifteen string
	if _, err := fmt.Sscan(string(b), &one, &five, &fifteen); err != nil {
		return "unknown"
	}
	return one + " " + five + " " + fifteen
}

// turnPhase is a random wait of up to pollPeriod, added to the settle
// before both tools' runs of one turn. A run's Rekor v2 write is answered
// at the first of rekor-tiles' checkpoint polls (once a second, at a
// phase of its own) after its checkpoint: after a fixed settle, run after
// run would meet the poll at the same point of its second, and every
// figure would be its luck. With this, the turns sample the phase as CI
// jobs do, and both tools of a turn meet the same one.
func turnPhase() time.Duration { return rand.N(pollPeriod) }

// pollPeriod is how often rekor-tiles looks for a new checkpoint (fixed
// in rekor-tiles).
const pollPeriod = time.Second
