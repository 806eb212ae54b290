package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
)

// Signature is one signature made and stored for one subject.
type Signature struct {
	// Format is how it was stored.
	Format Format `json:"format"`
	// PredicateType is the attestation's predicate type; empty for an
	// image signature.
	PredicateType string `json:"predicateType,omitempty"`
	// Location is the referrer manifest or .sig tag it was written to.
	Location string `json:"location"`
	// LogURL is the transparency log's base URL; LogIndex the entry's index.
	LogURL   string `json:"logUrl"`
	LogIndex int64  `json:"logIndex"`
	// Reused is true when a valid signature by the same identity, with the
	// same annotations (or predicate), was already stored, so none was made (re-runs do not
	// pile up signatures).
	Reused bool `json:"reused,omitempty"`
	// Bundle is what was signed, as stored (bundle) or converted (legacy);
	// a sign run keeps only its log entries (kind and index) for the report.
	Bundle *protobundle.Bundle `json:"-"`
}

// Signer signs subjects with one ephemeral key and one certificate.
type Signer struct {
	opts     options
	keypair  *sgsign.EphemeralKeypair
	cert     *onceCertificate
	token    string
	material *trust.Material
	services map[Format]trust.Services
	clients  map[Format]*clients
	stores   map[Format]store.Store
}

// Option configures a Signer.
type Option func(*options)

type options struct {
	transport    http.RoundTripper
	logTransport http.RoundTripper
	remote       []remote.Option
	blobs        *registry.Blobs
	retries      uint
	timeout      time.Duration // of a Rekor v1 request
	// callTimeout bounds a Fulcio, TSA or Rekor v2 call as sigstore-go's
	// clients do, retries and waits for a turn included; negative: not
	// at all, the transport bounding each request it sends.
	callTimeout time.Duration
	now         func() time.Time
}

// Defaults, in one place.
const (
	// defaultRetries is how often a Fulcio, Rekor or TSA call is retried on
	// a 5xx: public-good Rekor has bursts of 502s that outlast two retries.
	defaultRetries = 4
	// defaultRequestTimeout bounds one Sigstore request; the run as a whole
	// is bounded by the caller's context.
	defaultRequestTimeout = 30 * time.Second
)

// WithTransport sets the HTTP transport for Fulcio and the TSA. A
// *retry.Transport does their retries (sigstore-go's own are then off).
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithLogTransport sets the HTTP transport for Rekor v2 writes, which are
// retried by signing again, never by the transport.
func WithLogTransport(t http.RoundTripper) Option { return func(o *options) { o.logTransport = t } }

// WithRemote sets the registry options (auth, transport).
func WithRemote(opts ...remote.Option) Option { return func(o *options) { o.remote = opts } }

// WithBlobs sets the run's blob uploader, which authenticates as the
// registry options do.
func WithBlobs(b *registry.Blobs) Option { return func(o *options) { o.blobs = b } }

// WithTransportTimeouts says that the transports (WithTransport,
// WithLogTransport) bound each request they send: a Fulcio, TSA or Rekor
// v2 call is then not timed out as a whole, so that one waiting its turn
// behind a rate limit, or retried after a Retry-After, is not cut short.
func WithTransportTimeouts() Option { return func(o *options) { o.callTimeout = -1 } }

// WithClock sets the clock used to select services.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Signer for token. It selects the services each format needs
// from the material's signing config and fails when one is missing.
func New(token string, material *trust.Material, formats []Format, opts ...Option) (*Signer, error) {
	o := options{retries: defaultRetries, timeout: defaultRequestTimeout, callTimeout: defaultRequestTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if len(formats) == 0 {
		return nil, errors.New("no signature format to sign in")
	}
	s := &Signer{opts: o, token: token, material: material, services: map[Format]trust.Services{},
		clients: map[Format]*clients{}, stores: map[Format]store.Store{}}
	storeOpts := []store.Option{store.WithRemote(o.remote...), store.WithClock(o.now)}
	if o.blobs != nil {
		storeOpts = append(storeOpts, store.WithBlobs(o.blobs))
	}
	if material != nil && material.Root != nil {
		storeOpts = append(storeOpts, store.WithRoot(material.Root))
	}
	for _, f := range formats {
		st, err := store.New(f, storeOpts...)
		if err != nil {
			return nil, err
		}
		s.stores[f] = st
		versions := st.RekorVersions()
		svc, err := material.Select(o.now(), versions...)
		if err != nil {
			if !slices.Contains(versions, 2) {
				return nil, fmt.Errorf("signature-format %s needs a Rekor v1 log (set rekor-url, or a signing-config that lists one): %w", f, err)
			}
			return nil, err
		}
		s.services[f] = svc
		if s.clients[f], err = o.clients(svc); err != nil {
			return nil, err
		}
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("generating ephemeral key: %w", err)
	}
	s.keypair = kp
	// Every format selects the same Fulcio from the signing config.
	s.cert = &onceCertificate{provider: sgsign.NewFulcio(&sgsign.FulcioOptions{
		BaseURL: s.services[formats[0]].Fulcio, Timeout: o.callTimeout, Retries: o.transportRetries(), Transport: o.transport,
	})}
	return s, nil
}

// Services returns the services used for format f.
func (s *Signer) Services(f Format) trust.Services { return s.services[f] }

// Certificate gets the run's one certificate from Fulcio, the first time it
// is called, and returns it parsed.
func (s *Signer) Certificate(ctx context.Context) (*x509.Certificate, error) {
	der, err := s.cert.GetCertificate(ctx, s.keypair, &sgsign.CertificateProviderOptions{IDToken: s.token})
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// onceCertificate asks its provider once and then returns the same
// certificate: one Fulcio certificate per run, however many subjects.
type onceCertificate struct {
	provider sgsign.CertificateProvider
	mu       sync.Mutex
	der      []byte
}

func (c *onceCertificate) GetCertificate(ctx context.Context, kp sgsign.Keypair, o *sgsign.CertificateProviderOptions) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.der != nil {
		return c.der, nil
	}
	der, err := c.provider.GetCertificate(ctx, kp, o)
	if err != nil {
		if m := fulcioStatus.FindStringSubmatch(err.Error()); m != nil {
			status, _ := strconv.Atoi(m[1])
			if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
				return nil, &RefusedError{Service: "Fulcio", StatusCode: status, Message: strings.TrimSpace(m[2])}
			}
		}
		return nil, fmt.Errorf("getting a certificate from Fulcio: %w", err)
	}
	c.der = der
	return der, nil
}

// fulcioStatus matches sigstore-go's error for a non-200 Fulcio answer,
// whose body may span lines and end in a newline.
var fulcioStatus = regexp.MustCompile(`(?s)^Fulcio returned (\d{3}): (.*)$`)

// RefusedError is a service's permanent refusal (HTTP 4xx): retrying the
// same request cannot succeed.
type RefusedError struct {
	Service    string
	StatusCode int
	Message    string
}

// Error returns the message.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused the request (HTTP %d): %s", e.Service, e.StatusCode, e.Message)
}

// Sign signs kind k about subject for format f's store and writes it to
// the registry: the content the store asks for (an in-toto statement as
// DSSE, or cosign's simple-signing payload as a message), the run's key and
// certificate, a log entry in the Rekor the store can hold, timestamps.
func (s *Signer) Sign(ctx context.Context, subject registry.Subject, k payload.Kind, f Format) (*Signature, error) {
	st, ok := s.stores[f]
	if !ok {
		return nil, fmt.Errorf("unknown format %q", f)
	}
	c, err := st.Content(k, subject.Digest)
	if err != nil {
		return nil, err
	}
	var content sgsign.Content = &sgsign.PlainData{Data: c.Data}
	if c.DSSE {
		content = &sgsign.DSSEData{Data: c.Data, PayloadType: payload.InTotoPayloadType}
	}
	// Timestamps of the signature are asked for while it is logged; a
	// stamper's of other bytes (cosign's .att envelope) after, over them.
	sp, ok := st.(stamper)
	after := ok && !sp.StampsSignature(c)
	b, err := s.bundle(ctx, content, f, !after)
	if err == nil && after {
		err = s.stamp(ctx, f, c, b, sp)
	}
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", subject.Digest, err)
	}
	loc, err := st.Write(ctx, subject, k, c, b)
	if err != nil {
		return nil, err
	}
	sig := &Signature{Format: f, Location: loc, LogURL: s.services[f].Rekor, LogIndex: logIndex(b), Bundle: b}
	if pt := k.PredicateType(); pt != payload.SignPredicateType {
		sig.PredicateType = pt
	}
	return sig, nil
}

// ExpectWrites tells the signer that the run will sign at most n
// payloads in each format: the run's first Rekor v2 writes are sent
// together as soon as all of them are ready (burst).
func (s *Signer) ExpectWrites(n int) {
	for _, c := range s.clients {
		if b, ok := c.log.(*burst); ok {
			b.Expect(n)
		}
	}
}

// transportRetries is sigstore-go's own retry count for Fulcio and the
// TSA: none when the transport retries, so that retries do not multiply.
func (o options) transportRetries() uint {
	if _, ok := o.transport.(*retry.Transport); ok {
		return 0
	}
	return o.retries
}

// bundle signs content and logs it; with stamp, the signature is also
// timestamped, while it is logged (alongside). Rekor v1 retries inside
// sigstore-go (retryablehttp); a transient Rekor v2 failure, including the
// 409 of a retried POST whose first answer was lost, is retried by signing
// again: a new signature and a new entry, as sigstore-go documents.
func (s *Signer) bundle(ctx context.Context, content sgsign.Content, f Format, stamp bool) (*protobundle.Bundle, error) {
	c := s.clients[f]
	log := c.log
	if stamp && len(c.ts) > 0 {
		log = &alongside{log: log, tsas: c.ts, names: s.services[f].TSAs}
	}
	opts := sgsign.BundleOptions{
		CertificateProvider:        s.cert,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: s.token},
		Context:                    ctx,
		TransparencyLogs:           []sgsign.Transparency{log},
	}
	var b *protobundle.Bundle
	err := retry.Do(ctx, func() (err error) {
		b, err = sgsign.Bundle(content, s.keypair, opts)
		return err
	}, rekorV2Transient)
	return b, err
}

func logIndex(b *protobundle.Bundle) int64 {
	if es := b.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
		return es[0].GetLogIndex()
	}
	return -1
}
