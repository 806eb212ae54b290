// Command faults is the long run of the fault-injection test: it puts a
// fault-injecting proxy in front of every service of the local Sigstore
// stack and runs keyless, as a GitHub runner runs the action, many times
// in a row, each run signing a fresh image and a shared one in both
// formats. It prints runs, successes, failures, the faults injected per
// service and kind, and the duration of a run (p50, p95, max).
//
//	cd e2e && go run ./cmd/faults -runs 100 -rate 0.2
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
	"github.com/keyless-dev/keyless/e2e/stack"
)

func main() {
	runs := flag.Int("runs", 100, "consecutive runs")
	rate := flag.Float64("rate", 0.2, "share of requests to every service that get a fault")
	seed := flag.Uint64("seed", 1, "seed of the fault choices")
	timeout := flag.Duration("timeout", 5*time.Minute, "the timeout input of each run")
	verbose := flag.Bool("v", false, "print the stderr of failed runs")
	flag.Parse()
	if err := run(context.Background(), *runs, *rate, *seed, *timeout, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, runs int, rate float64, seed uint64, timeout time.Duration, verbose bool) error {
	s, err := stack.Running(ctx, "")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "keyless-faults")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := stack.Build(ctx, "./cmd/action", work)
	if err != nil {
		return err
	}
	set, err := faultproxy.Front(s, faultproxy.Config{Rate: rate, Seed: seed}, work)
	if err != nil {
		return err
	}
	defer set.Close()
	repo := fmt.Sprintf("faults/run-%d", time.Now().Unix())
	shared, err := s.PushRandomImage(ctx, repo, "shared")
	if err != nil {
		return err
	}
	var durations []time.Duration
	var failures, duplicates int
	start := time.Now()
	for i := range runs {
		img, err := s.PushRandomImage(ctx, repo, fmt.Sprintf("run-%d", i))
		if err != nil {
			return err
		}
		dir := filepath.Join(work, fmt.Sprintf("run-%d", i))
		inputs := map[string]string{
			"images": set.Image(img) + "," + set.Image(shared), "signature-format": "both",
			"timeout": timeout.String(), "trusted-root": s.TrustedRoot, "signing-config": set.SigningConfig,
		}
		t0 := time.Now()
		ok, stderr, err := runKeyless(ctx, bin, dir, s.GitHubActionEnv(dir, inputs), set.Env())
		if err != nil {
			return err
		}
		durations = append(durations, time.Since(t0))
		if n := signatures(ctx, s, img); n != 2 {
			duplicates++
			fmt.Printf("run %d: %s has %d signatures, want 1 bundle and 1 legacy\n", i+1, img, n)
		}
		if !ok {
			failures++
			fmt.Printf("run %d: FAILED\n", i+1)
			if verbose {
				fmt.Println(stderr)
			}
		}
		if (i+1)%10 == 0 {
			fmt.Printf("%d/%d runs, %d failed, %v\n", i+1, runs, failures, time.Since(start).Round(time.Second))
		}
	}
	if n := signatures(ctx, s, shared); n != 2 {
		duplicates++
		fmt.Printf("shared image %s has %d signatures, want 1 bundle and 1 legacy\n", shared, n)
	}
	fmt.Printf("\nruns %d, successes %d, failures %d, images with duplicate or missing signatures %d (rate %.0f%%, seed %d, %v in all)\n",
		runs, runs-failures, failures, duplicates, rate*100, seed, time.Since(start).Round(time.Second))
	fmt.Printf("duration per run: p50 %v, p95 %v, max %v\n\nfaults injected:\n%s", percentile(durations, 50), percentile(durations, 95), percentile(durations, 100), set.Report())
	if failures > 0 || duplicates > 0 {
		return fmt.Errorf("%d of %d runs failed, %d images with wrong signature counts", failures, runs, duplicates)
	}
	return nil
}

// runKeyless runs the binary with exactly env (and overrides) in dir, and
// reports whether it exited 0 with verified=true.
func runKeyless(ctx context.Context, bin, dir string, env, overrides map[string]string) (bool, string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "workspace"), 0o755); err != nil {
		return false, "", err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	for k, v := range env {
		if o, ok := overrides[k]; ok {
			v = o
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return false, "", fmt.Errorf("running keyless: %w", err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "github_output"))
	verified := strings.Contains(string(out), "verified<<") && verifiedTrue(string(out))
	return err == nil && verified, stderr.String(), nil
}

// verifiedTrue finds the verified output's value in a GITHUB_OUTPUT file.
func verifiedTrue(out string) bool {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "verified<<") && i+1 < len(lines) {
			return lines[i+1] == "true"
		}
	}
	return false
}

// signatures counts img's bundles and legacy signatures; -1 on error.
func signatures(ctx context.Context, s *stack.Stack, img string) int {
	b, err := s.Bundles(ctx, img)
	if err != nil {
		return -1
	}
	l, err := s.LegacySignatures(ctx, img)
	if err != nil {
		return -1
	}
	return len(b) + len(l)
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)].Round(10 * time.Millisecond)
}
