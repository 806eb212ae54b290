package faultproxy

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// The services a Set fronts, by name.
const (
	Registry = "registry"
	Fulcio   = "Fulcio"
	RekorV2  = "Rekor v2"
	RekorV1  = "Rekor v1"
	TSA      = "TSA"
	OIDC     = "OIDC token endpoint"
)

// Services are the names of the services a Set fronts, in report order.
var Services = []string{Registry, Fulcio, RekorV2, RekorV1, TSA, OIDC}

// Set is one proxy per service of a local Sigstore stack, and a signing
// config that points at them.
type Set struct {
	// Proxies maps a service name to its proxy.
	Proxies map[string]*Proxy
	// SigningConfig is the path of a copy of the stack's signing config
	// (Fulcio, both Rekors, TSA) with every URL on its proxy.
	SigningConfig string
	// TokenURL is the GitHub runner token URL, on its proxy.
	TokenURL string

	stk       *stack.Stack
	upstreams map[string]string
}

// Front starts a proxy with cfg in front of each service of stk and
// writes the signing config into dir. down names services whose URL is
// left pointing at a closed proxy: nothing listens there.
func Front(stk *stack.Stack, cfg Config, dir string, down ...string) (*Set, error) {
	upstreams := map[string]string{
		Registry: "http://" + stk.Registry, Fulcio: stk.FulcioURL, RekorV2: stk.RekorURL,
		RekorV1: stk.RekorV1URL, TSA: stk.TSAURL, OIDC: stk.OIDCURL,
	}
	s := &Set{Proxies: map[string]*Proxy{}, stk: stk}
	for i, name := range Services {
		c := cfg
		c.Seed = cfg.Seed*16 + uint64(i)
		p, err := Start(name, upstreams[name], c)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("starting the %s proxy: %w", name, err)
		}
		s.Proxies[name] = p
	}
	for _, name := range down {
		if _, ok := s.Proxies[name]; !ok {
			s.Close()
			return nil, fmt.Errorf("unknown service %q", name)
		}
		s.Proxies[name].Close()
	}
	s.upstreams = upstreams
	var err error
	if s.SigningConfig, err = s.Rewrite(stk.SigningConfigAll, filepath.Join(dir, "signing_config_faults.json")); err != nil {
		s.Close()
		return nil, err
	}
	s.TokenURL = strings.Replace(stk.GitHubRunnerTokenURL, hostURL(stk.OIDCURL), s.Proxies[OIDC].URL, 1)
	return s, nil
}

// Rewrite writes to dst a copy of the signing config at src with every
// service's URL on its proxy, and returns dst.
func (s *Set) Rewrite(src, dst string) (string, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	sc := string(raw)
	for _, name := range []string{Fulcio, RekorV2, RekorV1, TSA} {
		sc = strings.ReplaceAll(sc, `"`+hostURL(s.upstreams[name]), `"`+s.Proxies[name].URL)
	}
	return dst, os.WriteFile(dst, []byte(sc), 0o644)
}

// URL returns the URL of service (a name of Services) on its proxy, with
// the upstream URL's path: what a client is given instead of the
// service's own URL.
func (s *Set) URL(service string) string {
	return strings.Replace(s.upstreams[service], hostURL(s.upstreams[service]), s.Proxies[service].URL, 1)
}

// hostURL is u's scheme and host.
func hostURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// Image returns ref (on the stack's registry) on the registry's proxy.
func (s *Set) Image(ref string) string {
	return strings.Replace(ref, s.stk.Registry, s.Proxies[Registry].Host, 1)
}

// Env returns the environment overrides that point keyless at the proxies
// (the GitHub runner token URL).
func (s *Set) Env() map[string]string {
	return map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": s.TokenURL}
}

// SetRate changes the fault rate of every proxy.
func (s *Set) SetRate(rate float64) {
	for _, p := range s.Proxies {
		p.SetRate(rate)
	}
}

// SetBucket sets the token bucket of service's proxy.
func (s *Set) SetBucket(service string, b Bucket) { s.Proxies[service].SetBucket(b) }

// Reset zeroes every proxy's counts.
func (s *Set) Reset() {
	for _, p := range s.Proxies {
		p.Reset()
	}
}

// Stats returns each proxy's stats by service name.
func (s *Set) Stats() map[string]Stats {
	out := map[string]Stats{}
	for name, p := range s.Proxies {
		out[name] = p.Stats()
	}
	return out
}

// Report describes every proxy's stats, one line per service.
func (s *Set) Report() string {
	var b strings.Builder
	for _, name := range Services {
		fmt.Fprintf(&b, "%-20s %s\n", name, s.Proxies[name].Stats())
	}
	return b.String()
}

// Close stops every proxy.
func (s *Set) Close() {
	for _, p := range s.Proxies {
		_ = p.Close()
	}
}
