package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
	"github.com/keyless-dev/keyless/e2e/stack"
)

// network is how the tools reach the stack: directly, or through one
// latency-only proxy per service (no faults), which adds rtt to every
// request and counts them.
type network struct {
	stack *stack.Stack
	set   *faultproxy.Set // nil: direct
	// signingConfigs maps a format to the signing config the tools use.
	signingConfigs map[string]string
}

func newNetwork(s *stack.Stack, work string, rtt time.Duration, proxy bool) (*network, error) {
	n := &network{stack: s, signingConfigs: signingConfigs(s)}
	if rtt == 0 && !proxy {
		return n, nil
	}
	set, err := faultproxy.Front(s, faultproxy.Config{Delay: rtt}, work)
	if err != nil {
		return nil, err
	}
	n.set = set
	for f, path := range n.signingConfigs {
		if n.signingConfigs[f], err = set.Rewrite(path, filepath.Join(work, "signing_config_"+f+".json")); err != nil {
			set.Close()
			return nil, err
		}
	}
	return n, nil
}

// signingConfigs maps each format to the stack's signing config for it.
func signingConfigs(s *stack.Stack) map[string]string {
	return map[string]string{"bundle": s.SigningConfig, "legacy": s.SigningConfigV1, "both": s.SigningConfigAll}
}

func (n *network) close() {
	if n.set != nil {
		n.set.Close()
	}
}

// image is ref (pushed directly) as the tools reach it.
func (n *network) image(ref string) string {
	if n.set == nil {
		return ref
	}
	return n.set.Image(ref)
}

// url is a service's URL as the tools reach it.
func (n *network) url(service string) string {
	if n.set != nil {
		return n.set.URL(service)
	}
	return map[string]string{
		faultproxy.Fulcio: n.stack.FulcioURL, faultproxy.RekorV1: n.stack.RekorV1URL, faultproxy.TSA: n.stack.TSAURL,
	}[service]
}

// env is the environment keyless needs besides the stack's: the runner's
// token endpoint on its proxy.
func (n *network) env() map[string]string {
	if n.set == nil {
		return nil
	}
	return n.set.Env()
}

// reset zeroes the proxies' counts, before a timed run.
func (n *network) reset() {
	if n.set != nil {
		n.set.Reset()
	}
}

// lastRekorV2 is when the last Rekor v2 answer came back through its
// proxy: the moment of one of rekor-tiles' checkpoint polls, which answer
// its writes. Zero when there is none, or no proxy.
func (n *network) lastRekorV2() time.Time {
	if n.set == nil {
		return time.Time{}
	}
	return n.set.Stats()[faultproxy.RekorV2].Last
}

// requests are the requests a run made to each service, and the longest
// one took upstream, read from the proxies.
type requests struct {
	count   map[string]int
	slowest map[string]time.Duration
}

func (n *network) requests() *requests {
	if n.set == nil {
		return nil
	}
	r := &requests{count: map[string]int{}, slowest: map[string]time.Duration{}}
	for name, st := range n.set.Stats() {
		if st.Requests > 0 {
			r.count[name], r.slowest[name] = st.Requests, st.Slowest
		}
	}
	return r
}

// registry and sigstore are the requests to the registry and to the
// Sigstore services (Fulcio, the logs, the TSA, the token endpoint).
func (r *requests) registry() int { return r.count[faultproxy.Registry] }

func (r *requests) sigstore() int {
	total := 0
	for name, c := range r.count {
		if name != faultproxy.Registry {
			total += c
		}
	}
	return total
}

// String gives each service's requests and its slowest answer.
func (r *requests) String() string {
	var parts []string
	for _, name := range faultproxy.Services {
		if c, ok := r.count[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %d (slowest %.2f s)", name, c, r.slowest[name].Seconds()))
		}
	}
	return "requests: " + strings.Join(parts, ", ")
}

// minimum is the fewest requests per image each format needs at scale
// (Fulcio's one per run left out), as registry and Sigstore requests.
// A bundle, on a registry without the referrers API: resolve the tag
// (1), upload the bundle (2: the OCI spec's monolithic POST then PUT;
// distribution has no single-request upload, and the empty config is
// shared), put the referrer (1), update the sha256-<hex> index (2: read,
// then write it), read back as a verifier does (3: index, manifest,
// bundle); one log entry and one timestamp. Legacy: resolve (1), read
// the .sig image to append to (1), upload the payload and the new config
// (4), put the manifest (1), read back (2: manifest, payload); one log
// entry and one timestamp. Both: the two, resolving once.
var minimum = map[string][2]int{"bundle": {9, 2}, "legacy": {9, 2}, "both": {17, 4}}
