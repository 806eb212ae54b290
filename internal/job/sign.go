package job

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Sign signs every subject of c, then verifies what it stored. Every input
// is checked before anything is written; an error that IsInput means
// nothing was signed. A run whose signatures failed returns a result with
// Verified false and a nil error.
func Sign(ctx context.Context, c Config) (*Result, error) {
	c.defaults()
	if err := c.Policy.CheckText(); err != nil {
		return nil, err
	}
	run := &Result{Command: "sign", Formats: c.Formats, DryRun: c.DryRun, Started: c.Now()}
	c.Trust.Transport = retry.New(c.Transport, retry.WithService("TUF repository"), retry.WithBudget(ctx))
	material, err := trust.Load(c.Trust, true)
	if err != nil {
		return nil, err
	}
	run.Trust = material.Source
	if c.Trust.Private() {
		run.TrustedRoot = material.Root
	}
	tok, err := identityToken(ctx, c)
	if err != nil {
		return nil, err
	}
	if !c.Trust.Private() {
		if err := tok.CheckPublicGoodKubernetes(); err != nil {
			return nil, err
		}
	}
	id, _ := tok.Identity()
	kinds, err := c.kinds(tok)
	if err != nil {
		return nil, err
	}
	for _, k := range kinds[1:] {
		run.Attestations = append(run.Attestations, k.PredicateType())
	}
	run.Policy = c.Policy
	run.Policy.Identity, run.Policy.Issuer = cmp.Or(c.Policy.Identity, id.SAN), cmp.Or(c.Policy.Issuer, id.Issuer)
	remoteOpts, err := c.remote()
	if err != nil {
		return nil, err
	}
	blobs, err := c.blobs()
	if err != nil {
		return nil, err
	}
	// Fulcio and the TSA retry through this transport, bounded by the run's
	// budget (sigstore-go sends their requests without a context).
	sigstoreTransport := retry.New(c.svc.sigstore, retry.WithBudget(ctx))
	signOpts := []sign.Option{sign.WithRemote(remoteOpts...), sign.WithBlobs(blobs),
		sign.WithTransport(sigstoreTransport), sign.WithLogTransport(c.svc.log), sign.WithClock(c.Now)}
	if c.Transport == nil {
		signOpts = append(signOpts, sign.WithTransportTimeouts()) // the run's pool times each request out
	}
	signer, err := sign.New(tok.Raw, material, c.Formats, signOpts...)
	if err != nil {
		return nil, err // a missing service names signing-config; other errors are not the input's
	}
	// The certificate is fetched while the images are resolved and what
	// they already have is read: none of it writes anything, and a run of
	// one image waits for all of it.
	identity, issuer := run.Policy.Identity, run.Policy.Issuer
	certified := make(chan error, 1)
	if !c.DryRun {
		go func() { certified <- certify(ctx, c, run, signer, tok.Issuer) }()
	}
	subjects, err := registry.Resolve(ctx, c.Images, c.Recursive, remoteOpts...)
	if err != nil {
		return nil, err
	}
	c.Log.Info("resolved images", "count", len(subjects), "identity", identity, "issuer", issuer)
	if c.DryRun {
		return dryRun(run, subjects, c)
	}
	// The first writes the run can make at once: one per kind of each
	// subject in flight.
	signer.ExpectWrites(min(len(subjects), c.Concurrency) * len(kinds))
	pipelines, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := sync.OnceValues(func() (*verify.Verifier, error) {
		if err := <-certified; err != nil {
			cancel() // what the pipelines still read is of no use
			return nil, err
		}
		verifier, err := verify.New(material.Root, run.Policy, remoteOpts...)
		if err != nil {
			cancel()
			return nil, err
		}
		// A signature counts, for reuse and for the read-back, only when
		// it carries exactly the annotations this run was asked to sign.
		return verifier.Exact(), nil
	})
	p := &signing{c: c, signer: signer, kinds: kinds, reader: verify.NewReader(remoteOpts...), ready: ready, warm: c.svc.warm}
	run.Subjects = p.all(pipelines, subjects)
	if _, err := ready(); err != nil {
		return nil, err // nothing was signed
	}
	run.Unverified = !c.Verify
	run.Verified = c.Verify && run.ok(true)
	run.Duration = c.Now().Sub(run.Started)
	return run, nil
}

// kinds are what each subject gets signed: its image signature, the
// build's provenance as signed with tok, then the attestations of the
// inputs.
func (c *Config) kinds(tok *oidc.Token) ([]payload.Kind, error) {
	kinds := []payload.Kind{payload.Signature{Annotations: c.Annotations}}
	if c.Provenance != nil {
		p, err := c.Provenance.Provenance(tok)
		if err != nil {
			return nil, err
		}
		if err := certifies(tok, p); err != nil {
			return nil, err
		}
		kinds = append(kinds, p)
	}
	return append(kinds, c.Attestations...), nil
}

// certifies checks p with the verify gate's own check
// (payload.CheckPredicate) against what the certificate issued for tok
// will certify, as Fulcio maps tok's claims (oidc.Token.Certified): a
// provenance that its certificate would contradict is refused before
// anything is signed.
func certifies(tok *oidc.Token, p payload.Provenance) error {
	cert, err := tok.Certified()
	if err != nil {
		return err
	}
	pred, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding provenance: %w", err)
	}
	if err := payload.CheckPredicate(payload.ProvenanceType, p.PredicateType(), pred, cert); err != nil {
		return &InputError{Input: "provenance", Err: fmt.Errorf("the certificate for this identity token would contradict the provenance, and verification would refuse it: %w", err)}
	}
	return nil
}

// certify gets the run's certificate and records what it certifies: the
// identity and issuer are the certificate's, unless the inputs set them, so
// that verification checks exactly what Fulcio issued.
func certify(ctx context.Context, c Config, run *Result, signer *sign.Signer, tokenIssuer string) error {
	cert, err := certificateOf(ctx, signer, tokenIssuer)
	if err != nil {
		return err
	}
	run.Certificate = summarize(cert)
	// A policy may require timestamps only when every store carries them.
	run.SignedTimestamps = true
	for _, f := range c.Formats {
		run.SignedTimestamps = run.SignedTimestamps && len(signer.Services(f).TSAs) > 0
	}
	if run.Certificate == nil {
		return nil
	}
	// An identity given as input must be the one Fulcio certified: else
	// signing would write signatures that then fail, or reuse another
	// identity's signature as if it were this run's.
	if got := run.Certificate.SubjectAlternativeName; c.Policy.Identity != "" && got != c.Policy.Identity {
		return &InputError{Input: "certificate-identity", Err: fmt.Errorf("the certificate names %q, not %q: leave the input empty to use the token's identity", got, c.Policy.Identity)}
	}
	if got := run.Certificate.Issuer; c.Policy.Issuer != "" && got != c.Policy.Issuer {
		return &InputError{Input: "certificate-oidc-issuer", Err: fmt.Errorf("the certificate names issuer %q, not %q: leave the input empty to use the token's issuer", got, c.Policy.Issuer)}
	}
	if got := run.Certificate.SubjectAlternativeName; got != run.Policy.Identity {
		c.Log.Warn("certificate identity differs from the one derived from the token", "certificate", got, "token", run.Policy.Identity)
		run.Policy.Identity = got
	}
	if got := run.Certificate.Issuer; got != "" {
		run.Policy.Issuer = got
	}
	return nil
}

// certificateOf gets signer's one certificate; Fulcio's refusal of the
// token is the identity-token input's to fix.
func certificateOf(ctx context.Context, signer *sign.Signer, tokenIssuer string) (*x509.Certificate, error) {
	cert, err := signer.Certificate(ctx)
	if err != nil {
		var re *sign.RefusedError
		if errors.As(err, &re) {
			return nil, &InputError{Input: "identity-token", Err: fmt.Errorf("%w\n"+
				"Fulcio does not accept this token from issuer %s: use a token from an issuer this Fulcio trusts "+
				"(public-good Fulcio: GitHub Actions, GitLab, Buildkite, CircleCI, Codefresh, and GKE, EKS and AKS cluster issuers; a private Fulcio: the issuers in its config)", err, tokenIssuer)}
		}
		return nil, fmt.Errorf("getting signing certificate: %w", err)
	}
	return cert, nil
}

// identityToken gets the token, masks it and checks it. An expired token
// is fetched once more: the runner endpoint mints a fresh one, and the
// kubelet may have rotated a projected token file since it was read.
func identityToken(ctx context.Context, c Config) (*oidc.Token, error) {
	for attempt := 0; ; attempt++ {
		raw, err := c.Token.Token(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &InputError{Input: "identity-token-file", Err: fmt.Errorf("%w: mount the token there (Tekton: a projected serviceAccountToken with audience sigstore), or give identity-token-file", err)}
		}
		if err != nil {
			return nil, fmt.Errorf("getting identity token: %w", err)
		}
		c.Mask(raw)
		tok, err := oidc.Parse(raw)
		if err != nil {
			return nil, &InputError{Input: "identity-token", Err: err}
		}
		err = tok.Preflight(c.Now())
		var pe *oidc.PreflightError
		if errors.As(err, &pe) && pe.Expired && attempt == 0 {
			c.Log.Warn("identity token expired: fetching it again")
			continue
		}
		if err != nil {
			return nil, err
		}
		return tok, nil
	}
}

func summarize(cert *x509.Certificate) *certificate.Summary {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil
	}
	return &s
}

// dryRun checks that every repository can be written to and returns the
// plan: the subjects that a real run would sign.
func dryRun(run *Result, subjects []registry.Subject, c Config) (*Result, error) {
	kc, err := c.keychain()
	if err != nil {
		return nil, err
	}
	t := c.registryTransport()
	checked := map[string]bool{}
	for _, s := range subjects {
		repo := s.Digest.Context()
		if !checked[repo.String()] {
			checked[repo.String()] = true
			if err := remote.CheckPushPermission(s.Digest, kc, t); err != nil {
				return nil, &InputError{Input: "registry credentials", Err: fmt.Errorf("cannot push signatures to %s: %w", repo, err)}
			}
		}
		run.Subjects = append(run.Subjects, newSubject(s))
	}
	return run, nil
}
