package job

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/promote"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/trust"
)

// Promote verifies every subject of c at its source, as Verify does;
// copies each, with everything that proves it, to the same digest in
// c.Destination (package promote); verifies it again there, under the
// same policy, read back from the destination registry; and with c.VSA
// signs a SLSA verification summary of it there with the identity of
// c.Token. It fails closed: when any subject does not verify at the
// source, nothing is copied. An error that IsInput means nothing was
// written. Re-runs copy only what the destination lacks.
func Promote(ctx context.Context, c Config) (*Result, error) {
	c.defaults()
	run := &Result{Command: "promote", Formats: c.Formats, Started: c.Now(), Policy: c.Policy,
		Attestations: slices.Clone(c.AttestationTypes), VSA: c.VSA}
	if err := c.Policy.Check(); err != nil {
		return nil, err
	}
	dst, err := c.Destination.repository()
	if err != nil {
		return nil, err
	}
	run.Destination = dst.String()
	c.Trust.Transport = retry.New(c.Transport, retry.WithService("TUF repository"), retry.WithBudget(ctx))
	material, err := trust.Load(c.Trust, c.VSA)
	if err != nil {
		return nil, err
	}
	run.Trust = material.Source
	if c.Trust.TrustedRoot != "" {
		run.TrustedRoot = material.Root
	}
	srcOpts, err := c.remote()
	if err != nil {
		return nil, err
	}
	dstKeychain, err := keychainOf(c.Destination.Auth, "destination registry credentials")
	if err != nil {
		return nil, err
	}
	dstOpts, err := c.remoteWith(dstKeychain)
	if err != nil {
		return nil, err
	}
	subjects, err := registry.Resolve(ctx, c.Images, c.Recursive, srcOpts...)
	if err != nil {
		return nil, err
	}
	if err := differs(subjects, dst); err != nil {
		return nil, err
	}
	var vsa *summarizer
	if c.VSA {
		// Before anything is copied: a token Fulcio refuses writes nothing.
		if vsa, err = newSummarizer(ctx, c, run, material, dst, dstOpts, dstKeychain, len(subjects)); err != nil {
			return nil, err
		}
	}
	srcCheck, err := c.newChecker(material.Root, c.Policy, nil, srcOpts...)
	if err != nil {
		return nil, err
	}
	dstCheck, err := c.newChecker(material.Root, c.Policy, nil, dstOpts...)
	if err != nil {
		return nil, err
	}
	c.Log.Info("resolved images", "count", len(subjects), "destination", dst.String())
	run.Subjects = make([]Subject, len(subjects))
	p := startProgress(c.Log, "verifying at the source", len(subjects))
	forEach(c.Concurrency, len(subjects), func(i int) {
		r := newSubject(subjects[i])
		r.Verifications = gate(ctx, c, srcCheck, subjects[i])
		run.Subjects[i] = r
		p.done(subjects[i], r, true)
	})
	p.stop()
	if failed := run.failed(); failed > 0 {
		// Fail closed: all or nothing.
		for i := range run.Subjects {
			if run.Subjects[i].ok(true) {
				run.Subjects[i].Err = fmt.Errorf("not promoted: %d of the %d images failed verification at the source, and nothing is copied unless all pass", failed, len(subjects))
			}
		}
	} else {
		pr := promotion{c: c, copier: promote.New(srcOpts, dstOpts), check: dstCheck, vsa: vsa, dst: dst}
		pr.all(ctx, subjects, run.Subjects)
	}
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

// failed counts the subjects that did not verify.
func (r *Result) failed() int {
	n := 0
	for _, s := range r.Subjects {
		if !s.ok(true) {
			n++
		}
	}
	return n
}

// repository parses the destination: a repository, never a tag or a
// digest (the digest is the source's).
func (d Destination) repository() (name.Repository, error) {
	bad := func(format string, args ...any) error {
		return &InputError{Input: "destination", Err: fmt.Errorf(format, args...)}
	}
	s := strings.TrimSpace(d.Repository)
	switch {
	case s == "":
		return name.Repository{}, bad("required: the repository to promote to, REGISTRY/REPOSITORY (no tag or digest)")
	case strings.HasPrefix(s, "-"):
		return name.Repository{}, bad("%q starts with -: a repository, never an option", s)
	case strings.Contains(s, "@"):
		return name.Repository{}, bad("%q has a digest: give the repository alone; a promoted image keeps its source digest", s)
	}
	if _, err := name.NewTag(s, name.StrictValidation); err == nil {
		return name.Repository{}, bad("%q has a tag: give the repository alone; a promoted image keeps its source digest, and no tag is moved", s)
	}
	repo, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		return name.Repository{}, bad("%q is not a repository: %v", s, err)
	}
	return repo, nil
}

// differs refuses a destination that is the repository of an image given.
func differs(subjects []registry.Subject, dst name.Repository) error {
	for _, s := range subjects {
		if s.Digest.Context().Name() == dst.Name() {
			return &InputError{Input: "destination", Err: fmt.Errorf("%s is the repository of %s already: give another repository (a promotion copies between repositories)", dst, s.Input)}
		}
	}
	return nil
}

// promotion is what copying needs: the copier, the destination's checker
// and repository, and the summarizer when verification summaries are
// asked for.
type promotion struct {
	c      Config
	copier *promote.Copier
	check  checker
	vsa    *summarizer
	dst    name.Repository
}

// all promotes subjects, whose source verifications are out. The
// manifests go first, one per image given: an index brings every manifest
// below it, which (with recursive) are subjects too but are not copied
// again. Then each subject on its own: what proves it, the check at the
// destination, its verification summary.
func (p *promotion) all(ctx context.Context, subjects []registry.Subject, out []Subject) {
	for i, s := range subjects {
		out[i].Promotion = &Promotion{Destination: p.dst.Digest(s.Digest.DigestStr()).String()}
	}
	tops := map[string]int{} // input → its first subject
	var firsts []int
	for i, s := range subjects {
		if _, ok := tops[s.Input]; !ok {
			tops[s.Input] = i
			firsts = append(firsts, i)
		}
	}
	forEach(p.c.Concurrency, len(firsts), func(j int) {
		i := firsts[j]
		var err error
		if out[i].Promotion.Copied.Manifest, err = p.copier.Image(ctx, subjects[i].Digest, p.dst); err != nil {
			out[i].Err = err
		}
	})
	prog := startProgress(p.c.Log, "promoting", len(subjects))
	defer prog.stop()
	forEach(p.c.Concurrency, len(subjects), func(i int) {
		if top := tops[subjects[i].Input]; out[top].Err != nil {
			if top != i {
				out[i].Err = fmt.Errorf("not copied: copying %s failed", subjects[top].Digest)
			}
		} else {
			p.one(ctx, subjects[i], &out[i])
		}
		prog.done(subjects[i], out[i], true)
	})
}

// one copies what proves s, verifies it at the destination and, when
// asked, signs its verification summary there.
func (p *promotion) one(ctx context.Context, s registry.Subject, r *Subject) {
	pr := r.Promotion
	target := registry.Subject{Digest: p.dst.Digest(s.Digest.DigestStr()), Input: s.Input, Descriptor: s.Descriptor, Platform: s.Platform}
	var err error
	if pr.Copied.Proofs, err = p.copier.Proofs(ctx, s.Digest, p.dst); err != nil {
		r.Err = fmt.Errorf("copying what proves %s: %w", s.Digest.DigestStr(), err)
		return
	}
	pr.Verifications = gate(ctx, p.c, p.check, target)
	if p.vsa == nil || !allVerified(pr.Verifications) {
		return
	}
	if pr.VSAs, err = p.vsa.summarize(ctx, target, pr.Verifications); err != nil {
		r.Err = err
	}
}
