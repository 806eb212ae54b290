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
// This is a benchmark, never a test: figures vary with the machine's load.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

func main() {
	ns := flag.String("n", "1,10,100,1000", "numbers of images, comma-separated")
	formats := flag.String("format", "bundle,legacy,both", "signature formats, comma-separated")
	cosignMax := flag.Int("cosign-max", 100, "run cosign only up to this many images (it takes about 1 s per image; 0 skips it)")
	concurrency := flag.String("concurrency", "", "keyless's concurrency input (empty: its default)")
	profiles := flag.String("cpuprofile", "", "write a Go CPU profile of each keyless run into this directory (keyless-<format>-<n>.pprof)")
	flag.Parse()
	counts, err := parseCounts(*ns)
	if err == nil {
		err = run(context.Background(), counts, strings.Split(*formats, ","), *cosignMax, *concurrency, *profiles)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

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

// row is one line of the table.
type row struct {
	format  string
	images  int
	keyless measure
	cosign  *measure // nil: not run
}

func run(ctx context.Context, counts []int, formats []string, cosignMax int, concurrency, profiles string) error {
	s, err := stack.Running(ctx, "")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "keyless-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var flags []string
	if profiles != "" {
		if profiles, err = filepath.Abs(profiles); err != nil {
			return err
		}
		if err := os.MkdirAll(profiles, 0o755); err != nil {
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
	b := &bench{stack: s, bin: bin, work: work, runID: time.Now().UTC().Format("20060102-150405"), concurrency: concurrency, profiles: profiles}
	var rows []row
	for _, f := range formats {
		if _, ok := signingConfigs(s)[f]; !ok {
			return fmt.Errorf("-format: unknown format %q: use bundle, legacy or both", f)
		}
		for _, n := range counts {
			r := row{format: f, images: n}
			if r.keyless, err = b.keyless(ctx, f, n); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "keyless %s %d: %s\n", f, n, r.keyless)
			if n <= cosignMax {
				m, err := b.cosign(ctx, f, n)
				if err != nil {
					return err
				}
				r.cosign = &m
				fmt.Fprintf(os.Stderr, "cosign %s %d: %s\n", f, n, m)
			}
			rows = append(rows, r)
		}
	}
	fmt.Fprintf(os.Stdout, "\n%d cores (GOMAXPROCS %d), %s; cosign run up to %d images (— above)\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02 15:04 MST"), cosignMax)
	printTable(os.Stdout, rows, runtime.NumCPU())
	return nil
}

// printTable writes the rows as a Markdown table. The CPU columns tell
// how much of a keyless time the machine's cores alone impose: keyless's
// and the stack's CPU time during the run, divided by the cores, is the
// least wall time that work could take on them.
func printTable(w io.Writer, rows []row, cores int) {
	fmt.Fprintf(w, "| format | images | keyless | keyless peak RSS | cosign | cosign peak RSS | keyless/cosign | CPU, keyless + stack | CPU floor on %d cores |\n", cores)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		c, crss, ratio := "—", "—", "—"
		if r.cosign != nil {
			c, crss = seconds(r.cosign.wall), mb(r.cosign.maxRSS)
			ratio = fmt.Sprintf("%.2f", r.keyless.wall.Seconds()/r.cosign.wall.Seconds())
		}
		stackCPU := r.keyless.stack.Total()
		floor := (r.keyless.cpu + stackCPU) / time.Duration(max(cores, 1))
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %.2f + %.2f s | %s |\n", r.format, r.images, seconds(r.keyless.wall), mb(r.keyless.maxRSS), c, crss, ratio,
			r.keyless.cpu.Seconds(), stackCPU.Seconds(), seconds(floor))
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mb(kb int64) string { return fmt.Sprintf("%d MB", (kb+512)/1024) }
