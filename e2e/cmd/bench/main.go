// Command bench runs keyless and the cosign CLI side by side on the local
// Sigstore stack, each on fresh images, and prints a Markdown table of
// wall time, peak RSS and the ratio keyless/cosign, per format and number
// of images, with the CPU time keyless and the stack used in each keyless
// run and the least wall time that CPU allows on the machine's cores.
// A keyless time is its whole sign process, read-back
// verification included, run as a GitHub runner runs the action; a cosign
// time is cosign sign (v3 for bundle with the stack's signing config, v2
// for legacy; for both, the two in a row).
//
//	cd e2e && go run ./cmd/bench -n 1,10,100,1000 -format bundle,legacy,both
//
// With -runs N, each figure is run N times, keyless and cosign in turn,
// and the table gives the median and the spread. With -rtt, every
// service, the registry included, is reached through a proxy that delays
// each request by that round trip, for keyless and cosign alike; the
// proxies count the requests, and a second table gives them per image.
// The proxies are also used, at no delay, with -runs above 1 (to start
// both tools of a turn at the same point of the log's poll) or -proxy.
//
// This is a benchmark, never a test: figures vary with the machine's load.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// options are the bench's flags.
type options struct {
	counts      []int
	formats     []string
	cosignMax   int
	concurrency string
	profiles    string
	runs        int
	settle      time.Duration
	rtt         time.Duration
	proxy       bool
	cosignV2    string
	cosignV3    string
}

func main() {
	var o options
	ns := flag.String("n", "1,10,100,1000", "numbers of images, comma-separated")
	formats := flag.String("format", "bundle,legacy,both", "signature formats, comma-separated")
	flag.IntVar(&o.cosignMax, "cosign-max", 100, "run cosign only up to this many images (it takes about 1 s per image; 0 skips it)")
	flag.StringVar(&o.concurrency, "concurrency", "", "keyless's concurrency input (empty: its default)")
	flag.StringVar(&o.profiles, "cpuprofile", "", "write a Go CPU profile of each keyless run into this directory (keyless-<format>-<n>.pprof)")
	flag.IntVar(&o.runs, "runs", 1, "run each figure this many times, keyless and cosign in turn, and give the median")
	flag.DurationVar(&o.settle, "settle", defaultSettle, "before each timed run, wait until the stack has been idle (no log entries, little CPU) for this long")
	flag.DurationVar(&o.rtt, "rtt", 0, "reach every service through a proxy that adds this round trip to each request")
	flag.StringVar(&o.cosignV2, "cosign-v2", "", "the cosign v2 binary (empty: the stack's)")
	flag.StringVar(&o.cosignV3, "cosign-v3", "", "the cosign v3 binary (empty: the stack's)")
	flag.BoolVar(&o.proxy, "proxy", false, "reach the services through the proxies even at -rtt 0 and -runs 1, to count the requests")
	flag.Parse()
	counts, err := parseCounts(*ns)
	if err == nil && o.runs < 1 {
		err = fmt.Errorf("-runs: %d is not a positive number", o.runs)
	}
	if err == nil && (o.rtt < 0 || o.settle < 0) {
		err = fmt.Errorf("-rtt and -settle cannot be negative")
	}
	if err == nil {
		o.counts, o.formats = counts, strings.Split(*formats, ",")
		err = run(context.Background(), o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// defaultSettle is how long the logs must have been idle before a timed
// run. A Rekor v2 write is answered once a published checkpoint covers
// it, and tessera publishes at most once per checkpoint interval (1 s on
// the stack, 500 ms on its CT log): a write that reaches a log less than
// an interval after the last checkpoint, the previous run's or anyone
// else's, is held until the interval ends, then waits for rekor-tiles'
// next poll, a second more. Back to back, every run but the first meets
// that, and which of two tools pays depends on which reaches the log
// sooner after the other. 1.5 s gives each run an idle log, as a CI job
// on its own finds it.
const defaultSettle = 1500 * time.Millisecond

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
