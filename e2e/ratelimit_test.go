package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
)

// rateLimitImages is how many images TestRateLimit signs.
const rateLimitImages = 1000

// rateLimits are the token buckets TestRateLimit puts in front of each
// service: 20 requests a second to each Sigstore service and the token
// endpoint, and ten times that to the registry, which a run asks ten
// times per image as often.
var rateLimits = map[string]faultproxy.Bucket{
	faultproxy.Fulcio:   {Rate: 20, Burst: 20},
	faultproxy.RekorV2:  {Rate: 20, Burst: 20},
	faultproxy.TSA:      {Rate: 20, Burst: 20},
	faultproxy.OIDC:     {Rate: 20, Burst: 20},
	faultproxy.Registry: {Rate: 200, Burst: 200},
}

// TestRateLimit signs 1000 images in the bundle format through proxies
// that answer 429 with Retry-After to a client faster than their token
// bucket, as public-good Sigstore does: the run must succeed with every
// signature verified, each image holding exactly one bundle (nothing lost,
// no duplicates), every service having throttled it. It is a behaviour
// test: it bounds no time, and logs the run's next to the buckets' floor.
func TestRateLimit(t *testing.T) {
	dir := t.TempDir()
	set, err := faultproxy.Front(stk, faultproxy.Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	signingConfig, err := set.Rewrite(stk.SigningConfig, filepath.Join(dir, "signing_config_bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	refs := pushImages(t, rateLimitImages)
	images := make([]string, len(refs))
	for i, ref := range refs {
		images[i] = set.Image(ref)
	}
	for service, b := range rateLimits {
		set.SetBucket(service, b)
	}
	set.Reset()
	start := time.Now()
	r := runCommandFor(t, 20*time.Minute, merge(githubEnv(merge(trustInputs(signingConfig), map[string]string{
		"images": strings.Join(images, "\n"), "signature-format": "bundle", "timeout": "15m",
	})), set.Env()), keylessBin(t))
	took := time.Since(start)
	if r.code != 0 || r.outputs["verified"] != "true" {
		t.Fatalf("exit %d, verified %q after %v\nstderr:\n%s\nproxies:\n%s", r.code, r.outputs["verified"], took.Round(time.Second), tail(r.stderr, 4000), set.Report())
	}
	stats := set.Stats()
	var floor time.Duration
	for service, b := range rateLimits {
		st := stats[service]
		forwarded := st.Requests - st.Faults[faultproxy.Throttled]
		floor = max(floor, time.Duration(float64(max(forwarded-b.Burst, 0))/b.Rate*float64(time.Second)))
		if service != faultproxy.Fulcio && service != faultproxy.OIDC && st.Faults[faultproxy.Throttled] == 0 {
			t.Errorf("%s never throttled the run: the test proves nothing for it", service)
		}
	}
	t.Logf("%d images in %v; the buckets' floor (requests forwarded beyond the burst, over the rate, of the busiest) %v\n%s",
		rateLimitImages, took.Round(100*time.Millisecond), floor.Round(100*time.Millisecond), set.Report())
	assertOneBundleEach(t, refs)
}

// pushImages pushes n fresh random images, 16 at a time, and returns
// their digest references.
func pushImages(t *testing.T, n int) []string {
	t.Helper()
	repo := "e2e/" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	refs := make([]string, n)
	errs := make([]error, n)
	each(n, func(i int) {
		refs[i], errs[i] = stk.PushRandomImage(context.Background(), repo, fmt.Sprintf("img-%d", i))
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return refs
}

// assertOneBundleEach fails for each image of refs that does not hold
// exactly one bundle.
func assertOneBundleEach(t *testing.T, refs []string) {
	t.Helper()
	counts := make([]int, len(refs))
	errs := make([]error, len(refs))
	each(len(refs), func(i int) {
		b, err := stk.Bundles(context.Background(), refs[i])
		counts[i], errs[i] = len(b), err
	})
	bad := 0
	for i, ref := range refs {
		if errs[i] != nil || counts[i] != 1 {
			if bad++; bad <= 10 {
				t.Errorf("%s: %d bundles (%v), want 1", ref, counts[i], errs[i])
			}
		}
	}
	if bad > 10 {
		t.Errorf("… and %d more images without exactly one bundle", bad-10)
	}
}

// each calls f(0) … f(n-1), 16 at a time, and waits.
func each(n int, f func(i int)) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
