package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
	"github.com/keyless-dev/keyless/e2e/stack"
)

// bench runs one tool at a time against the stack.
type bench struct {
	stack       *stack.Stack
	net         *network
	bin         string // the keyless binary
	work        string
	runID       string
	concurrency string
	profiles    string // a directory for CPU profiles, or ""
	settle      time.Duration
	phase       time.Duration // added to settle, the same for both tools of a turn
	poll        time.Time     // a moment of rekor-tiles' checkpoint poll, or zero
	seq         int
}

// measure is one process: its wall time and peak resident set.
type measure struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // KiB
	stack  stack.CPU     // CPU time of each stack service meanwhile
	req    *requests     // through the proxies; nil: direct
	logs   string        // how the stack's logs grew meanwhile
}

func (m measure) String() string {
	s := fmt.Sprintf("%s, %s, CPU %s; %s; %s", seconds(m.wall), mb(m.maxRSS), seconds(m.cpu), m.stack, m.logs)
	if m.req != nil {
		s += "; " + m.req.String()
	}
	return s
}

// keyless pushes n fresh images and signs them with keyless in format f,
// as the GitHub runner runs the action.
func (b *bench) keyless(ctx context.Context, f string, n int) (measure, error) {
	refs, err := b.push(ctx, "keyless-"+f, n)
	if err != nil {
		return measure{}, err
	}
	dir, err := b.dir()
	if err != nil {
		return measure{}, err
	}
	inputs := map[string]string{
		"images": strings.Join(refs, "\n"), "signature-format": f,
		"trusted-root": b.stack.TrustedRoot, "signing-config": b.net.signingConfigs[f],
	}
	if b.concurrency != "" {
		inputs["concurrency"] = b.concurrency
	}
	env := []string{"HOME=" + dir}
	if b.profiles != "" {
		env = append(env, "KEYLESS_BENCH_CPUPROFILE="+filepath.Join(b.profiles, fmt.Sprintf("keyless-%s-%d.pprof", f, n)))
	}
	vars := b.stack.GitHubActionEnv(dir, inputs)
	for k, v := range b.net.env() {
		vars[k] = v
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	logs := b.wait(ctx)
	before := b.stack.CPU()
	m, err := timed(ctx, dir, env, b.bin)
	m.stack = b.stack.CPU().Since(before)
	m.req = b.net.requests()
	m.logs = grown(logs, b.stack.LogSizes(ctx))
	return m, err
}

// cosign pushes n fresh images and signs them with the cosign CLI that
// writes format f: v3 for bundle, v2 for legacy, both in a row for both.
func (b *bench) cosign(ctx context.Context, f string, n int) (measure, error) {
	var total measure
	for _, sub := range map[string][]string{"bundle": {"bundle"}, "legacy": {"legacy"}, "both": {"bundle", "legacy"}}[f] {
		refs, err := b.push(ctx, "cosign-"+f, n)
		if err != nil {
			return total, err
		}
		dir, err := b.dir()
		if err != nil {
			return total, err
		}
		tok, err := b.stack.Mint(ctx, "github")
		if err != nil {
			return total, err
		}
		tokFile := filepath.Join(dir, "token")
		if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
			return total, err
		}
		bin, args := b.stack.CosignV3, []string{"sign", "-y", "--identity-token=" + tokFile,
			"--trusted-root=" + b.stack.TrustedRoot, "--signing-config=" + b.net.signingConfigs["bundle"]}
		if sub == "legacy" {
			bin, args = b.stack.CosignV2, []string{"sign", "-y", "--identity-token=" + tokFile,
				"--fulcio-url=" + b.net.url(faultproxy.Fulcio), "--rekor-url=" + b.net.url(faultproxy.RekorV1),
				"--timestamp-server-url=" + b.net.url(faultproxy.TSA), "--trusted-root=" + b.stack.TrustedRoot, "--tlog-upload=true"}
		}
		// cosign's own timeout (3 m by default) would end a run of 100
		// images across a network's round trip.
		args = append(append(args, "--timeout=1h", "--allow-http-registry", "--allow-insecure-registry"), refs...)
		env := []string{"HOME=" + dir, "TUF_ROOT=" + dir + "/.sigstore/root", "PATH=" + os.Getenv("PATH"), "SIGSTORE_NO_CACHE=true"}
		logs := b.wait(ctx)
		m, err := timed(ctx, dir, env, bin, args...)
		if err != nil {
			return total, err
		}
		total.logs = strings.TrimSpace(total.logs + " " + sub + ": " + grown(logs, b.stack.LogSizes(ctx)))
		total.wall += m.wall
		total.cpu += m.cpu
		total.maxRSS = max(total.maxRSS, m.maxRSS)
		total.req = total.req.add(b.net.requests())
	}
	return total, nil
}

// add sums two runs' requests (nil is none).
func (r *requests) add(o *requests) *requests {
	if r == nil {
		return o
	}
	if o == nil {
		return r
	}
	for name, c := range o.count {
		r.count[name] += c
		r.slowest[name] = max(r.slowest[name], o.slowest[name])
	}
	return r
}

// wait lets the stack settle before a timed run: it waits until its logs
// have published nothing, and its processes have used at most idleCPU
// percent of a core, for settle (others may use the stack too), for at
// most settleMax, then for the turn's phase, and zeroes the proxies'
// counts. It returns the logs' sizes, to compare after the run.
func (b *bench) wait(ctx context.Context) map[string]uint64 {
	sizes, cpu, quiet, deadline := b.stack.TileLogSizes(), b.stack.CPU(), time.Now(), time.Now().Add(settleMax)
	for time.Since(quiet) < b.settle && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		now, used := b.stack.TileLogSizes(), b.stack.CPU().Since(cpu).Total()
		if !maps.Equal(now, sizes) || used > idleCPU*time.Since(quiet)/100+20*time.Millisecond {
			sizes, cpu, quiet = now, b.stack.CPU(), time.Now()
		}
	}
	if !time.Now().Before(deadline) {
		fmt.Fprintf(os.Stderr, "bench: the stack was not idle for %v within %v: running all the same\n", b.settle, settleMax)
	}
	b.sleepPhase()
	b.net.reset()
	return b.stack.LogSizes(ctx)
}

// sleepPhase waits for the turn's phase. Once a run has seen a Rekor v2
// answer through the proxies, the phase is counted from rekor-tiles'
// checkpoint poll, which that answer marks: both tools of a turn then
// start at the same point of the poll's second, and meet the same log.
// Without it (directly, or before the first Rekor v2 write) it is
// counted from now, and the two tools of a turn meet the poll at points
// of its second that differ by chance.
func (b *bench) sleepPhase() {
	if last := b.net.lastRekorV2(); !last.IsZero() {
		b.poll = last
	}
	if b.poll.IsZero() {
		time.Sleep(b.phase)
		return
	}
	// The poll waits its period after each read of the checkpoint, so it
	// drifts by the read's time: counted from the last answer, a few
	// seconds on, that is a few milliseconds.
	at := b.poll.Add(b.phase)
	if now := time.Now(); at.Before(now) {
		at = at.Add(now.Sub(at).Truncate(pollPeriod) + pollPeriod)
	}
	time.Sleep(time.Until(at))
}

// settleMax bounds the wait for a quiet stack; idleCPU is the most its
// processes use of a core, in percent, while it is quiet: idle, Trillian's
// sequencer, MariaDB and the tile logs' loops use about 5%.
const (
	settleMax = time.Minute
	idleCPU   = 15
)

// grown says how much each log grew since before, for a run's line: a
// log that grew by more than the run's own entries had other writers.
func grown(before, after map[string]uint64) string {
	var parts []string
	for _, name := range []string{"rekor-v2", "ct", "rekor-v1"} {
		if a, ok := after[name]; ok {
			parts = append(parts, fmt.Sprintf("%s +%d", name, a-before[name]))
		}
	}
	return "log entries meanwhile: " + strings.Join(parts, ", ")
}

// timed runs a process in dir with exactly env and measures it; a
// failure is an error with the process's output.
func timed(ctx context.Context, dir string, env []string, bin string, args ...string) (measure, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start)}
	if err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = "…" + tail[len(tail)-4000:]
		}
		return m, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args[:min(len(args), 1)], " "), err, tail)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss // KiB on Linux
	}
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return m, nil
}

// dir returns a fresh working directory.
func (b *bench) dir() (string, error) {
	b.seq++
	d := filepath.Join(b.work, fmt.Sprintf("run-%d", b.seq))
	return d, os.MkdirAll(filepath.Join(d, "workspace"), 0o755)
}

// push pushes n fresh random images, 16 at a time, directly to the
// registry, and returns their digest references as the tools reach them.
func (b *bench) push(ctx context.Context, repo string, n int) ([]string, error) {
	b.seq++
	repo = fmt.Sprintf("bench/%s-%s-%d", repo, b.runID, b.seq)
	refs := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			refs[i], errs[i] = b.stack.PushRandomImage(ctx, repo, fmt.Sprintf("img-%d", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		refs[i] = b.net.image(refs[i])
	}
	return refs, nil
}
