package job

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// AuditSource is what an audit checks: every tag of a repository that
// matches a pattern, or a list of images.
type AuditSource struct {
	// Repository is REGISTRY/REPOSITORY, whose tags are audited.
	Repository string
	// Tags is a path.Match pattern that the repository's tags must match;
	// empty for every tag.
	Tags string
	// Targets are the images to audit when Repository is empty.
	Targets []Target
}

// Target is one image an audit checks.
type Target struct {
	// Ref is the image reference, as named.
	Ref string
	// Sources say where it is named: each manifest and container.
	Sources []string
	// Pinned requires a digest: an image a manifest names by tag fails,
	// for admission's rule is digests (a policy that resolves tags would
	// still check whatever the tag names at the time).
	Pinned bool
}

// AuditResult is what an audit found, one entry per image.
type AuditResult struct {
	// Formats, AnyFormat, Policy, Attestations and Recursive are the gate
	// every image was checked against.
	Formats      []sign.Format
	AnyFormat    bool
	Policy       verify.Policy
	Attestations []string
	Recursive    bool
	// Trust says where the trusted root came from.
	Trust string
	// Repository and Tags are the repository audited and its pattern.
	Repository, Tags string
	// Skipped counts the repository's tags that hold signatures,
	// attestations, SBOMs or referrers, not images; Unmatched those that
	// Tags does not match.
	Skipped, Unmatched int
	// Images are the audited images, in the order listed.
	Images []Audited
	// Started and Duration time the run.
	Started  time.Time
	Duration time.Duration
}

// Audited is one audited image, small: nothing of its signatures is kept.
type Audited struct {
	// Image is the reference as named; Digest the repository@sha256:… it
	// resolved to, empty when it did not.
	Image, Digest string
	// Reason is why admission would refuse it; empty when it passes.
	Reason Reason
	// Detail says what failed, on one line.
	Detail string
	// Sources say where it is named (manifests).
	Sources []string
}

// Failed counts the images that failed.
func (r *AuditResult) Failed() int {
	n := 0
	for _, a := range r.Images {
		if a.Reason != "" {
			n++
		}
	}
	return n
}

// Audit verifies every image of src against the gate of c (c.Policy,
// c.Formats, c.AttestationTypes, c.Recursive) and says, per image,
// whether admission would refuse it and why. An image that cannot be
// resolved or read fails; the run fails only when nothing can be audited
// (bad input, the trust material, the repository's tag list).
func Audit(ctx context.Context, c Config, src AuditSource) (*AuditResult, error) {
	c.defaults()
	res := &AuditResult{Formats: c.Formats, AnyFormat: c.AnyFormat, Policy: c.Policy, Attestations: slices.Clone(c.AttestationTypes),
		Recursive: c.Recursive, Repository: src.Repository, Tags: src.Tags, Started: c.Now()}
	if _, err := path.Match(src.Tags, ""); err != nil {
		return nil, &InputError{Input: "tags", Err: fmt.Errorf("%q is not a glob pattern (path.Match: *, ?, [a-z], \\ escapes): %w", src.Tags, err)}
	}
	g, err := newGatekeeper(ctx, &c)
	if err != nil {
		return nil, err
	}
	res.Trust = g.trust
	targets := src.Targets
	if src.Repository != "" {
		if targets, err = repositoryTargets(ctx, g, src, res); err != nil {
			return nil, err
		}
	}
	res.Images = make([]Audited, len(targets))
	a := auditor{c: c, g: g, seen: map[string]outcome{}}
	p := startProgress(c.Log, "auditing", len(targets))
	forEach(c.Concurrency, len(targets), func(i int) {
		res.Images[i] = a.audit(ctx, targets[i])
		if res.Images[i].Reason == "" {
			p.ok.Add(1)
		} else {
			p.failed.Add(1)
		}
	})
	p.stop()
	res.Duration = c.Now().Sub(res.Started)
	return res, nil
}

// repositoryTargets lists the tags of src.Repository that are images and
// match src.Tags, counting the others in res.
func repositoryTargets(ctx context.Context, g *gatekeeper, src AuditSource, res *AuditResult) ([]Target, error) {
	repo, err := name.NewRepository(src.Repository, name.StrictValidation)
	if err != nil {
		return nil, &InputError{Input: "repository", Err: fmt.Errorf("%q is not REGISTRY/REPOSITORY (no tag, no digest): %w", src.Repository, err)}
	}
	tags, err := registry.Tags(ctx, repo, g.remote...)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, t := range tags {
		switch {
		case registry.IsSignatureTag(t):
			res.Skipped++
		case src.Tags != "" && !matches(src.Tags, t):
			res.Unmatched++
		default:
			out = append(out, Target{Ref: repo.Tag(t).String()})
		}
	}
	if len(out) == 0 {
		what := "no tag"
		if src.Tags != "" {
			what = fmt.Sprintf("no tag matching %q", src.Tags)
		}
		return nil, &InputError{Input: "repository", Err: fmt.Errorf("%s has %s that is an image (of %d tags, %d signature tags): check the repository and the tags pattern", repo, what, len(tags), res.Skipped)}
	}
	return out, nil
}

func matches(pattern, tag string) bool {
	ok, _ := path.Match(pattern, tag)
	return ok
}

// auditor audits images with one gate, each digest once.
type auditor struct {
	c    Config
	g    *gatekeeper
	mu   sync.Mutex
	seen map[string]outcome // digest → what its audit found
}

// outcome is the audit of one digest.
type outcome struct {
	reason Reason
	detail string
}

// audit resolves t and audits what it names: with Recursive, every
// manifest of an index, the first failure deciding.
func (a *auditor) audit(ctx context.Context, t Target) Audited {
	out := Audited{Image: t.Ref, Sources: t.Sources}
	ref, err := name.ParseReference(t.Ref)
	if err != nil {
		out.Reason, out.Detail = Unreadable, oneLine("not an image reference: "+err.Error())
		return out
	}
	subjects, err := registry.Resolve(ctx, []string{ref.Name()}, a.c.Recursive, a.g.remote...)
	if err != nil {
		out.Reason, out.Detail = Unreadable, oneLine(err.Error())
		if _, tag := ref.(name.Tag); t.Pinned && tag {
			out.Reason = TagReference
			out.Detail = "named by tag, not by digest; the tag does not resolve: " + out.Detail
		}
		return out
	}
	out.Digest = subjects[0].Digest.String()
	for _, s := range subjects {
		o := a.subject(ctx, s)
		if o.reason == "" {
			continue
		}
		out.Reason, out.Detail = o.reason, o.detail
		if s.Platform != "" {
			out.Detail = s.Platform + ": " + out.Detail
		}
		break
	}
	if _, tag := ref.(name.Tag); t.Pinned && tag {
		verdict := "which passes the gate"
		if out.Reason != "" {
			verdict = fmt.Sprintf("which fails too (%s: %s)", out.Reason, out.Detail)
		}
		out.Reason = TagReference
		out.Detail = oneLine(fmt.Sprintf("named by tag, not by digest: pin it as %s; the tag names %s now, %s",
			subjects[0].Digest.Context().Name()+"@"+subjects[0].Digest.DigestStr(), subjects[0].Digest.DigestStr(), verdict))
	}
	return out
}

// subject audits one manifest, once per digest.
func (a *auditor) subject(ctx context.Context, s registry.Subject) outcome {
	key := s.Digest.String()
	a.mu.Lock()
	o, ok := a.seen[key]
	a.mu.Unlock()
	if ok {
		return o
	}
	r := a.g.verify(ctx, a.c, s)
	if !r.ok(true) {
		o.reason, o.detail = classify(a.c.Formats, r.Verifications, func(f sign.Format) verify.Result {
			return verifyOne(ctx, a.g.verifier, s, payload.Signature{}, f)
		})
		o.detail = oneLine(o.detail)
	}
	a.mu.Lock()
	a.seen[key] = o
	a.mu.Unlock()
	return o
}

// maxDetail caps an audited image's detail: the report of 10,000 images
// stays small, and the first reasons say what failed.
const maxDetail = 512

// oneLine makes s one line of at most maxDetail bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
