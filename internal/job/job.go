// Package job runs keyless end to end: resolve the images, get the identity
// token, sign, read the signatures back and verify them, and return what it
// did as a Result (package report makes the run's record of it). It knows
// nothing of the CI platform it runs in.
package job

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/keyless-dev/keyless/internal/input"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Config is one run's configuration, built from the platform's inputs.
type Config struct {
	// Images are the references to sign or verify.
	Images []string
	// Recursive also handles every manifest of an index.
	Recursive bool
	// Formats are the storage formats to write (sign) or check (verify).
	Formats []sign.Format
	// AnyFormat passes verify when any one of Formats has a valid signature.
	AnyFormat bool
	// Verify reads the signatures back and verifies them after signing.
	Verify bool
	// Policy is the verify policy; for sign, its Identity and Issuer
	// override the identity derived from the token.
	Policy verify.Policy
	// Trust says where the trust material comes from.
	Trust trust.Config
	// Auth holds registry credentials.
	Auth registry.Auth
	// Token is where the identity token comes from (sign only).
	Token TokenSource
	// Annotations are signed into every payload.
	Annotations map[string]string
	// Attestations are signed for every subject besides its signature
	// (sign only): SBOMs and custom predicates, read at the edge.
	Attestations []payload.Kind
	// AttestationTypes are predicate types that must each be attested for
	// every subject, by the policy's identity, besides its signature
	// (verify only); each verified predicate is checked against its
	// certificate (payload.CheckPredicate).
	AttestationTypes []string
	// Provenance, when set, states the running build: its SLSA provenance
	// is signed for every subject (sign only).
	Provenance ProvenanceSource
	// DryRun resolves and checks access, and signs nothing.
	DryRun bool
	// Destination is where promote copies the images to, with its own
	// credentials (promote only).
	Destination Destination
	// VSA signs a SLSA verification summary of every promoted digest, at
	// the destination, with the identity of Token (promote only).
	VSA bool
	// Version is keyless's version, which verification summaries record.
	Version string
	// Concurrency bounds how many subjects are worked on at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Transport is the HTTP transport for every service; nil means a
	// connection pool sized for Concurrency.
	Transport http.RoundTripper
	// Wrap, when set, wraps the transport of every service: the edge
	// records and redacts credentials there, over the run's pool.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Mask is called with every secret as soon as keyless holds it.
	Mask func(string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	svc *services // set by defaults
	// newChecker makes the run's verifiers: verify.New, unless a test
	// stands in for it.
	newChecker checkerFunc
}

// Destination is the repository promote copies to.
type Destination struct {
	// Repository is registry/repository, without a tag or digest.
	Repository string
	// Auth is its credentials (Config.Auth is the source's); their
	// keychain ends, as every run's does, with the Docker config.
	Auth registry.Auth
}

// TokenSource gets a raw OIDC identity token (see package oidc).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// ProvenanceSource states the running build as SLSA provenance, signed
// with tok (the platform adapters of package ci satisfy it).
type ProvenanceSource interface {
	Provenance(tok *oidc.Token) (payload.Provenance, error)
}

func (c *Config) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Mask == nil {
		c.Mask = func(string) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.Formats) == 0 {
		c.Formats = []sign.Format{sign.Bundle}
	}
	if c.newChecker == nil {
		c.newChecker = newVerifier
	}
	c.svc = newServices(c)
}

// keychain returns the registry credentials of the run.
func (c *Config) keychain() (authn.Keychain, error) {
	return keychainOf(c.Auth, "registry credentials")
}

// keychainOf returns the keychain of a, whose errors are input's.
func keychainOf(a registry.Auth, input string) (authn.Keychain, error) {
	kc, err := a.Keychain()
	if err != nil {
		return nil, &InputError{Input: input, Err: err}
	}
	return kc, nil
}

// registryTransport retries each registry request within the run, and
// bounds the requests in flight to each registry.
func (c *Config) registryTransport() http.RoundTripper {
	return c.svc.registry
}

func (c *Config) remote() ([]remote.Option, error) {
	kc, err := c.keychain()
	if err != nil {
		return nil, err
	}
	return c.remoteWith(kc)
}

// remoteWith is remote with the credentials of kc.
func (c *Config) remoteWith(kc authn.Keychain) ([]remote.Option, error) {
	// The retrying transport retries each request; ggcr's own per-request
	// retries are off (no status codes, and its predicate is false for the
	// transport's raw errors), and it redoes a whole blob upload only when
	// the transport could not retry it (a PATCH chunk, a streamed body).
	opts := []remote.Option{
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(registry.LimitTransport(registry.ReferrersTransport(c.registryTransport()))),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(redoUpload),
		remote.WithRetryBackoff(uploadBackoff),
	}
	opts, pusher, err := reuse(opts)
	if err != nil {
		return nil, err
	}
	c.svc.pusher = pusher
	return opts, nil
}

// blobs is the run's blob uploader: the same credentials and transport as
// the registry options.
func (c *Config) blobs() (*registry.Blobs, error) {
	kc, err := c.keychain()
	if err != nil {
		return nil, err
	}
	c.svc.blobs = c.blobsWith(kc)
	return c.svc.blobs, nil
}

// blobsWith is blobs with the credentials of kc.
func (c *Config) blobsWith(kc authn.Keychain) *registry.Blobs {
	return registry.NewBlobs(kc, registry.LimitTransport(c.registryTransport()))
}

// reuse adds one puller and one pusher for the whole run to opts: each
// repository is pinged and its token exchanged once, not once per call.
func reuse(opts []remote.Option) ([]remote.Option, *remote.Pusher, error) {
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, nil, err
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, nil, err
	}
	return append(opts, remote.Reuse(puller), remote.Reuse(pusher)), pusher, nil
}

// uploadBackoff paces ggcr's redo of a whole blob upload: as many tries
// as the retrying transport makes of one request, starting as soon, about
// 12 s in all. It has no Cap: reaching ggcr's cap ends the steps at once,
// which cut the redos to five.
var uploadBackoff = remote.Backoff{Duration: 250 * time.Millisecond, Factor: 1.4, Jitter: 0.5, Steps: 10}

// redoUpload is ggcr's retry predicate. It sees errors at two levels: the
// transport's raw errors (never retried again: the transport did) and an
// upload's errors, wrapped by http.Client or ggcr (redone when transient
// and not already retried by the transport).
func redoUpload(err error) bool {
	var ue *url.Error
	var te *transport.Error
	switch {
	case errors.As(err, &ue):
		return retry.Redo(ue.Err)
	case errors.As(err, &te):
		// BLOB_UPLOAD_UNKNOWN: a retried commit whose first answer was
		// lost; redoing the upload finds the blob already there.
		for _, d := range te.Errors {
			if d.Code == transport.BlobUploadUnknownErrorCode {
				return true
			}
		}
		return retry.TemporaryStatus(te.StatusCode)
	}
	return false
}

// InputError is bad input or configuration: exit status 2, nothing written.
type InputError = input.Error

// IsInput reports whether err is bad input or configuration, from any
// package: exit status 2. Such an error says so with a BadInput method,
// the way ggcr's errors say Temporary.
func IsInput(err error) bool { return input.Is(err) }
