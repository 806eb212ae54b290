package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/trust"
)

// Signature is one signature made and stored for one subject.
type Signature struct {
	// Format is how it was stored.
	Format Format `json:"format"`
	// Location is the referrer manifest or .sig tag it was written to.
	Location string `json:"location"`
	// LogURL is the transparency log's base URL; LogIndex the entry's index.
	LogURL   string `json:"logUrl"`
	LogIndex int64  `json:"logIndex"`
	// Reused is true when a valid signature by the same identity, with the
	// same annotations, was already stored, so none was made (re-runs do not
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
}

// Option configures a Signer.
type Option func(*options)

type options struct {
	transport    http.RoundTripper
	logTransport http.RoundTripper
	remote       []remote.Option
	annotations  map[string]string
	retries      uint
	timeout      time.Duration
	now          func() time.Time
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

// WithAnnotations sets annotations signed into every payload.
func WithAnnotations(a map[string]string) Option { return func(o *options) { o.annotations = a } }

// WithClock sets the clock used to select services.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Signer for token. It selects the services each format needs
// from the material's signing config and fails when one is missing.
func New(token string, material *trust.Material, formats []Format, opts ...Option) (*Signer, error) {
	o := options{retries: defaultRetries, timeout: defaultRequestTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if len(formats) == 0 {
		return nil, errors.New("no signature format to sign in")
	}
	s := &Signer{opts: o, token: token, material: material, services: map[Format]trust.Services{}, clients: map[Format]*clients{}}
	for _, f := range formats {
		versions := []uint32{1, 2}
		if f == Legacy {
			versions = []uint32{1} // cosign's .sig format records a Rekor v1 entry
		}
		svc, err := material.Select(o.now(), versions...)
		if err != nil {
			if f == Legacy {
				return nil, fmt.Errorf("signature-format legacy needs a Rekor v1 log (set rekor-url, or a signing-config that lists one): %w", err)
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
		BaseURL: s.services[formats[0]].Fulcio, Timeout: o.timeout, Retries: o.transportRetries(), Transport: o.transport,
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

// Sign signs subject in format f and writes the signature to the registry.
func (s *Signer) Sign(ctx context.Context, subject registry.Subject, f Format) (*Signature, error) {
	switch f {
	case Bundle:
		return s.signBundle(ctx, subject)
	case Legacy:
		return s.signLegacy(ctx, subject)
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// transportRetries is sigstore-go's own retry count for Fulcio and the
// TSA: none when the transport retries, so that retries do not multiply.
func (o options) transportRetries() uint {
	if _, ok := o.transport.(*retry.Transport); ok {
		return 0
	}
	return o.retries
}

// bundle signs content. Rekor v1 retries inside sigstore-go
// (retryablehttp); a transient Rekor v2 failure, including the 409 of a
// retried POST whose first answer was lost, is retried by signing again:
// a new signature and a new entry, as sigstore-go documents.
func (s *Signer) bundle(ctx context.Context, content sgsign.Content, f Format) (*protobundle.Bundle, error) {
	c := s.clients[f]
	opts := sgsign.BundleOptions{
		CertificateProvider:        s.cert,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: s.token},
		Context:                    ctx,
		TransparencyLogs:           []sgsign.Transparency{c.log},
		TimestampAuthorities:       c.ts,
	}
	var b *protobundle.Bundle
	err := retry.Do(ctx, func() (err error) {
		b, err = sgsign.Bundle(content, s.keypair, opts)
		return err
	}, rekorV2Transient)
	return b, err
}

func (s *Signer) signBundle(ctx context.Context, subject registry.Subject) (*Signature, error) {
	stmt, err := Statement(subject.Digest, s.opts.annotations)
	if err != nil {
		return nil, err
	}
	svc := s.services[Bundle]
	b, err := s.bundle(ctx, &sgsign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType}, Bundle)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", subject.Digest, err)
	}
	raw, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	loc, err := registry.WriteBundle(ctx, subject, raw, s.opts.now(), s.opts.remote...)
	if err != nil {
		return nil, err
	}
	return &Signature{Format: Bundle, Location: loc.String(), LogURL: svc.Rekor, LogIndex: logIndex(b), Bundle: b}, nil
}

func (s *Signer) signLegacy(ctx context.Context, subject registry.Subject) (*Signature, error) {
	payload, err := SimpleSigningPayload(subject.Digest, s.opts.annotations)
	if err != nil {
		return nil, err
	}
	svc := s.services[Legacy]
	b, err := s.bundle(ctx, &sgsign.PlainData{Data: payload}, Legacy)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", subject.Digest, err)
	}
	ann, err := LegacyAnnotations(b, s.material)
	if err != nil {
		return nil, err
	}
	tag, err := registry.WriteLegacy(ctx, subject.Digest, payload, ann, s.opts.remote...)
	if err != nil {
		return nil, err
	}
	return &Signature{Format: Legacy, Location: tag.String(), LogURL: svc.Rekor, LogIndex: logIndex(b), Bundle: b}, nil
}

func logIndex(b *protobundle.Bundle) int64 {
	if es := b.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
		return es[0].GetLogIndex()
	}
	return -1
}
