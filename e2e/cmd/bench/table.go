package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// row is one line of the table: a format and number of images, run
// once or more, keyless and cosign in turn.
type row struct {
	format  string
	images  int
	rtt     time.Duration
	keyless []measure
	cosign  []measure // none: not run
}

// median is the median of f over ms (the mean of the middle two of an
// even number).
func median(ms []measure, f func(measure) time.Duration) time.Duration {
	ds := make([]time.Duration, len(ms))
	for i, m := range ms {
		ds[i] = f(m)
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

func wall(m measure) time.Duration { return m.wall }

// spread is the least and the most wall time of ms.
func spread(ms []measure) string {
	lo, hi := ms[0].wall, ms[0].wall
	for _, m := range ms {
		lo, hi = min(lo, m.wall), max(hi, m.wall)
	}
	return fmt.Sprintf("%.2f–%.2f s", lo.Seconds(), hi.Seconds())
}

// worst is the most keyless took longer than cosign in one turn of the
// two (negative: keyless was faster every time).
func (r row) worst() time.Duration {
	w := time.Duration(-1 << 62)
	for i := range min(len(r.keyless), len(r.cosign)) {
		w = max(w, r.keyless[i].wall-r.cosign[i].wall)
	}
	return w
}

// summary describes the runs of r in one line.
func (r row) summary() string {
	s := fmt.Sprintf("keyless median %s (%s)", seconds(median(r.keyless, wall)), spread(r.keyless))
	if len(r.cosign) > 0 {
		s += fmt.Sprintf(", cosign median %s (%s), keyless − cosign at worst %+.3f s",
			seconds(median(r.cosign, wall)), spread(r.cosign), r.worst().Seconds())
	}
	return s
}

// printTable writes the rows as a Markdown table: medians, with the
// spread when a figure was run more than once. The CPU columns tell how
// much of a keyless time the machine's cores alone impose: keyless's and
// the stack's CPU time during the run, divided by the cores, is the least
// wall time that work could take on them.
func printTable(w io.Writer, rows []row, cores int) {
	fmt.Fprintf(w, "| format | images | RTT | keyless | keyless peak RSS | cosign | cosign peak RSS | keyless/cosign | keyless − cosign, worst turn | CPU, keyless + stack | CPU floor on %d cores | keyless bounded by |\n", cores)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	rss := func(m measure) time.Duration { return time.Duration(m.maxRSS) }
	for _, r := range rows {
		k := seconds(median(r.keyless, wall))
		if len(r.keyless) > 1 {
			k += " (" + spread(r.keyless) + ")"
		}
		c, crss, ratio, worst := "—", "—", "—", "—"
		if len(r.cosign) > 0 {
			c, crss = seconds(median(r.cosign, wall)), mb(int64(median(r.cosign, rss)))
			if len(r.cosign) > 1 {
				c += " (" + spread(r.cosign) + ")"
			}
			ratio = fmt.Sprintf("%.2f", median(r.keyless, wall).Seconds()/median(r.cosign, wall).Seconds())
			worst = fmt.Sprintf("%+.2f s", r.worst().Seconds())
		}
		cpu := median(r.keyless, func(m measure) time.Duration { return m.cpu })
		stackCPU := median(r.keyless, func(m measure) time.Duration { return m.stack.Total() })
		floor := (cpu + stackCPU) / time.Duration(max(cores, 1))
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %.2f + %.2f s | %s | %s |\n", r.format, r.images, ms(r.rtt), k,
			mb(int64(median(r.keyless, rss))), c, crss, ratio, worst, cpu.Seconds(), stackCPU.Seconds(), seconds(floor),
			bound(floor, median(r.keyless, wall)))
	}
}

// bound names what a run's wall time is bounded by: the CPU, when the
// least time its CPU allows is at least two thirds of it, else the
// services' waits (certificate, checkpoints, round trips), which cost the
// machine nothing.
func bound(floor, wall time.Duration) string {
	if 3*floor >= 2*wall {
		return "CPU"
	}
	return "services' waits"
}

// printRequests writes, per row, the requests per image each tool made
// (the first run's, counted by the proxies) next to the fewest the
// format needs.
func printRequests(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| format | images | keyless: registry + Sigstore requests per image | cosign: registry + Sigstore | the format's minimum |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		c := "—"
		if len(r.cosign) > 0 {
			c = perImage(r.cosign[0].req, r.images)
		}
		mn := minimum[r.format]
		fmt.Fprintf(w, "| %s | %d | %s | %s | %d + %d |\n", r.format, r.images, perImage(r.keyless[0].req, r.images), c, mn[0], mn[1])
	}
}

// perImage is a run's registry and Sigstore requests per image.
func perImage(req *requests, images int) string {
	if req == nil {
		return "—"
	}
	n := float64(images)
	return fmt.Sprintf("%.1f + %.1f", float64(req.registry())/n, float64(req.sigstore())/n)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func mb(kb int64) string { return fmt.Sprintf("%d MB", (kb+512)/1024) }
