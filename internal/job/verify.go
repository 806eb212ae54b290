package job

import (
	"context"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Verify verifies every subject of c against c.Policy, in every format of
// c.Formats. A subject passes when each format has a valid signature.
func Verify(ctx context.Context, c Config) (*Result, error) {
	c.defaults()
	run := &Result{Command: "verify", Formats: c.Formats, Started: c.Now(), Policy: c.Policy, Attestations: slices.Clone(c.AttestationTypes)}
	g, err := newGatekeeper(ctx, &c)
	if err != nil {
		return nil, err
	}
	run.Trust, run.TrustedRoot = g.trust, g.root
	subjects, err := registry.Resolve(ctx, c.Images, c.Recursive, g.remote...)
	if err != nil {
		return nil, err
	}
	run.Subjects = make([]Subject, len(subjects))
	p := startProgress(c.Log, "verifying", len(subjects))
	forEach(c.Concurrency, len(subjects), func(i int) {
		run.Subjects[i] = g.verify(ctx, c, subjects[i])
		p.done(subjects[i], run.Subjects[i], true)
	})
	p.stop()
	run.Verified = run.ok(true)
	for _, s := range run.Subjects {
		for _, v := range s.Verifications {
			if v.Verified && run.Certificate == nil {
				run.Certificate = v.Certificate
			}
		}
	}
	run.Duration = c.Now().Sub(run.Started)
	return run, nil
}

// gatekeeper is what the verify gate verifies with: the trust material,
// the registry options and the verifier of the policy.
type gatekeeper struct {
	// trust says where the trusted root came from; root is the private
	// trusted root parsed, nil for public-good.
	trust    string
	root     *root.TrustedRoot
	remote   []remote.Option
	verifier *verify.Verifier
}

// newGatekeeper checks c's policy and loads what verifies it.
func newGatekeeper(ctx context.Context, c *Config) (*gatekeeper, error) {
	if err := c.Policy.Check(); err != nil {
		return nil, err
	}
	c.Trust.Transport = retry.New(c.Transport, retry.WithService("TUF repository"), retry.WithBudget(ctx))
	material, err := trust.Load(c.Trust, false)
	if err != nil {
		return nil, err
	}
	g := &gatekeeper{trust: material.Source}
	if c.Trust.Private() {
		g.root = material.Root
	}
	if g.remote, err = c.remote(); err != nil {
		return nil, err
	}
	if g.verifier, err = verify.New(material.Root, c.Policy, g.remote...); err != nil {
		return nil, err
	}
	return g, nil
}

// verify verifies s as the gate does (gate).
func (g *gatekeeper) verify(ctx context.Context, c Config, s registry.Subject) Subject {
	r := newSubject(s)
	r.Verifications = gate(ctx, c, g.verifier, s)
	return r
}

// checker verifies what a registry holds for a subject: a
// *verify.Verifier, reading from the registry its remote options name.
type checker interface {
	Verify(ctx context.Context, s registry.Subject, k payload.Kind, f sign.Format) (verify.Result, error)
}

// checkerFunc makes a checker of policy p against tr that reads with
// opts and, when accept is set, accepts only what it accepts.
type checkerFunc func(tr root.TrustedMaterial, p verify.Policy, accept verify.Accept, opts ...remote.Option) (checker, error)

// newVerifier is the checkerFunc of verify.New.
func newVerifier(tr root.TrustedMaterial, p verify.Policy, accept verify.Accept, opts ...remote.Option) (checker, error) {
	v, err := verify.New(tr, p, opts...)
	if err != nil {
		return nil, err
	}
	if accept != nil {
		v = v.Accepting(accept)
	}
	return v, nil
}

// gate is the verify gate for one subject: its signature in each of
// c.Formats, then each of c.AttestationTypes in each format (with
// c.AnyFormat, one valid format of each suffices).
func gate(ctx context.Context, c Config, v checker, s registry.Subject) []verify.Result {
	out := verifyFormats(ctx, v, s, c.Formats)
	if c.AnyFormat {
		out = anyVerified(out)
	}
	for _, t := range c.AttestationTypes {
		att := verifyAttestations(ctx, v, s, t, c.Formats)
		if c.AnyFormat {
			att = anyVerified(att)
		}
		out = append(out, att...)
	}
	return out
}

// verifyFormats verifies s in each format; a registry error is the
// format's failure reason, so that verification fails closed.
func verifyFormats(ctx context.Context, v checker, s registry.Subject, formats []sign.Format) []verify.Result {
	var out []verify.Result
	for _, f := range formats {
		out = append(out, verifyOne(ctx, v, s, payload.Signature{}, f))
	}
	return out
}

// verifyAttestations verifies an attestation of predicateType for s in
// each format, and checks each verified predicate against the certificate
// that signed it: a predicate that the certificate contradicts fails.
func verifyAttestations(ctx context.Context, v checker, s registry.Subject, predicateType string, formats []sign.Format) []verify.Result {
	var out []verify.Result
	for _, f := range formats {
		res := verifyOne(ctx, v, s, payload.Expected(predicateType), f)
		if res.Verified {
			var cert certificate.Summary
			if res.Certificate != nil {
				cert = *res.Certificate
			}
			if err := payload.CheckPredicate(predicateType, res.PredicateType, res.Predicate, cert); err != nil {
				res.Verified, res.Predicate, res.Cause = false, nil, verify.Invalid
				res.Reasons = append(res.Reasons, err.Error())
			}
		}
		res.PredicateType = predicateType
		out = append(out, res)
	}
	return out
}

// verifyOne verifies kind k of s in format f; a registry error is the
// failure reason.
func verifyOne(ctx context.Context, v checker, s registry.Subject, k payload.Kind, f sign.Format) verify.Result {
	res, err := v.Verify(ctx, s, k, f)
	if err != nil {
		res.Reasons = append(res.Reasons, err.Error())
	}
	return res
}

// anyVerified keeps only the verified results when there is one, so that
// one valid signature in any format passes; otherwise every failure stays.
func anyVerified(rs []verify.Result) []verify.Result {
	var ok []verify.Result
	for _, r := range rs {
		if r.Verified {
			ok = append(ok, r)
		}
	}
	if len(ok) > 0 {
		return ok
	}
	return rs
}
