package job

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/keyless-dev/keyless/internal/limit"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
)

// DefaultConcurrency is how many images are worked on at once, by
// default: the concurrency input. Each image waits most of its time for
// its transparency-log entry to land in a checkpoint (about 1 s on the
// local stack; public-good Rekor v2 checkpoints less often), and a wait
// costs the client only a goroutine and an idle connection, so the bound
// is set by the services, not by the client: 1000 images then wait for
// about 4 checkpoints instead of 125 at 8 at a time, and a service that
// answers 429 halves its own share (limit.Transport). Registry requests
// have their own, lower bound (registryRequests).
const DefaultConcurrency = 256

// registryRequests bounds the requests in flight to one registry at
// first: a registry serves blobs and manifests from storage, and hosted
// registries rate-limit clients that open many connections; 16 keeps one
// run far below that and still overlaps each request's round trip with
// 15 others, which keeps a nearby registry busy.
const registryRequests = 16

// registryRequestsMax is the most the bound grows to on a far registry,
// while its answers take no longer than they do with fewer requests in
// flight (limit.Limiter.Grow): 16 requests across a 50 ms round trip
// are 320 a second, 64 are 1280, about 140 images a second at nine
// requests each. A registry that slows down under them shrinks the
// bound back to 16, and one that answers 429 halves it.
const registryRequestsMax = 64

// services is the HTTP plumbing of one run, made once and shared by every
// call: a connection pool sized for the concurrency, the registry's
// bounded, retrying transport, and the Sigstore services' adaptive bound.
type services struct {
	// registry carries every registry request.
	registry http.RoundTripper
	// sigstore carries Fulcio and TSA requests (retried) and log writes
	// (retried by signing again); both back off on 429.
	sigstore, log http.RoundTripper
	// pusher writes manifests and blobs uploads blobs, for the whole run
	// (set when the registry options are made); warmed holds the
	// repositories their setup was started for.
	pusher *remote.Pusher
	blobs  *registry.Blobs
	warmed sync.Map
}

// skipped is a layer that ggcr's pusher never uploads (it is not
// distributable): uploading it only sets up the pusher's writer for a
// repository.
var skipped = static.NewLayer(nil, types.DockerForeignLayer)

// warm sets up the run's writes to repo ahead of them, once: the
// pusher's and the blob uploader's ping and token exchange, made while
// the transparency log answers instead of after it. A setup that fails
// is not kept; the write does it again and reports its error.
func (s *services) warm(ctx context.Context, repo name.Repository) {
	if s.pusher == nil || s.blobs == nil {
		return
	}
	if _, started := s.warmed.LoadOrStore(repo.String(), true); started {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.pusher.Upload(ctx, repo, skipped) })
	wg.Go(func() { _ = s.blobs.Warm(ctx, repo) })
	wg.Wait()
}

func newServices(c *Config) *services {
	base := c.Transport
	if base == nil {
		base = pooledTransport(c.Concurrency)
	}
	if c.Wrap != nil {
		base = c.Wrap(base)
	}
	registry := limit.NewTransport(base, min(registryRequests, c.Concurrency),
		limit.WithCeiling(min(registryRequestsMax, c.Concurrency)))
	sigstore := limit.NewTransport(base, c.Concurrency)
	return &services{
		registry: retry.New(registry, retry.WithService("registry")),
		sigstore: sigstore,
		log:      sigstore,
	}
}

// pooledTransport keeps an idle connection per image in flight, where
// http.DefaultTransport keeps two per host and so reconnects for nearly
// every request of a concurrent run.
func pooledTransport(concurrency int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: requestTimeout,
	}
}

// requestTimeout bounds one request's wait for its answer, counted from
// when it is sent: a request waiting for its turn (the bound of requests
// in flight, a Retry-After) is not timed out for it. A Rekor v2 write's
// answer waits for a checkpoint, seconds on public-good.
const requestTimeout = 30 * time.Second
