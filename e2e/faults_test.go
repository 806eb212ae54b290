package e2e

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
)

// defaultFaultRuns is the CI variant of the 100-run fault test (about two
// minutes); KEYLESS_FAULT_RUNS sets another count, and go run ./cmd/faults
// does the long run with figures.
const defaultFaultRuns = 10

// faultRate is the share of requests to every service that get a fault.
const faultRate = 0.2

// TestFaults runs keyless consecutively with 20% transient faults on
// every service (registry, Fulcio, Rekor v2 and v1, TSA, the GitHub
// runner's token endpoint), signing in both formats a fresh image and a
// shared one each time: every run must succeed with verified signatures,
// and no image may pile up duplicate signatures.
func TestFaults(t *testing.T) {
	runs := defaultFaultRuns
	if v := os.Getenv("KEYLESS_FAULT_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KEYLESS_FAULT_RUNS=%q is not a positive number", v)
		}
		runs = n
	}
	set, err := faultproxy.Front(stk, faultproxy.Config{Rate: faultRate, Seed: 7}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	shared := pushImage(t)
	var fresh []string
	for i := range runs {
		img := pushImage(t)
		fresh = append(fresh, img)
		r := runKeyless(t, merge(githubEnv(merge(trustInputs(set.SigningConfig), map[string]string{
			"images": set.Image(img) + "," + set.Image(shared), "signature-format": "both", "timeout": "5m",
		})), set.Env()))
		if r.code != 0 || r.outputs["verified"] != "true" {
			t.Fatalf("run %d of %d: exit %d, verified %q\nstderr:\n%s\nproxies:\n%s", i+1, runs, r.code, r.outputs["verified"], r.stderr, set.Report())
		}
	}
	t.Logf("%d runs at %.0f%% faults:\n%s", runs, faultRate*100, set.Report())
	for name, s := range set.Stats() {
		// At 20%, 30 requests without a fault happen once in a thousand.
		if s.Requests >= 30 && s.Total() == 0 {
			t.Errorf("no fault was injected into %s: the test proves nothing for it", name)
		}
	}
	for _, img := range append(fresh, shared) {
		assertOneSignature(t, img)
	}
}

// assertOneSignature fails unless img has exactly one bundle and one
// legacy signature.
func assertOneSignature(t *testing.T, img string) {
	t.Helper()
	ctx := context.Background()
	bundles, err := stk.Bundles(ctx, img)
	if err != nil {
		t.Fatalf("reading the bundles of %s: %v", img, err)
	}
	legacy, err := stk.LegacySignatures(ctx, img)
	if err != nil {
		t.Fatalf("reading the legacy signatures of %s: %v", img, err)
	}
	if diff := cmp.Diff([2]int{1, 1}, [2]int{len(bundles), len(legacy)}); diff != "" {
		t.Errorf("%s: bundles, legacy signatures (-want +got):\n%s", img, diff)
	}
}

// TestServiceDown runs keyless with a 20s budget while one service is
// down (nothing listens on its address): the run must exit 1 within about
// the budget, and its error must name the service.
func TestServiceDown(t *testing.T) {
	const budget = 20 * time.Second
	for _, tc := range []struct {
		service string
		want    []string // in stderr, besides the service's address
	}{
		{faultproxy.Fulcio, []string{"Fulcio", "giving up after"}},
		{faultproxy.RekorV2, []string{"Rekor http://", "giving up after"}},
		{faultproxy.TSA, []string{"/api/v1/timestamp", "giving up after"}},
		{faultproxy.Registry, []string{"registry http://", "giving up after"}},
		{faultproxy.OIDC, []string{"GitHub runner", "giving up after"}},
	} {
		t.Run(strings.ReplaceAll(tc.service, " ", "-"), func(t *testing.T) {
			t.Parallel()
			set, err := faultproxy.Front(stk, faultproxy.Config{}, t.TempDir(), tc.service)
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			img := set.Image(pushImage(t))
			start := time.Now()
			r := runKeyless(t, merge(githubEnv(merge(trustInputs(set.SigningConfig), map[string]string{
				"images": img, "signature-format": "bundle", "timeout": budget.String(),
			})), set.Env()))
			took := time.Since(start)
			t.Logf("exit %d after %v:\n%s", r.code, took.Round(time.Millisecond), r.stderr)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\nstderr:\n%s", r.code, r.stderr)
			}
			if took > budget+10*time.Second {
				t.Errorf("the run took %v, beyond its %v budget", took.Round(time.Second), budget)
			}
			for _, s := range append(tc.want, set.Proxies[tc.service].Host) {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not name %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}
