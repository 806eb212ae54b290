package job

import (
	"slices"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/promote"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Result is what one run did: the identity it signed as (or verified
// against), and one result per subject. Package report builds the run's
// record from it.
type Result struct {
	// Command is "sign", "verify" or "promote".
	Command string
	// DryRun is true when nothing was signed.
	DryRun bool
	// Formats are the storage formats written or checked.
	Formats []sign.Format
	// Policy is the identity: for sign, the identity and issuer the
	// certificate names (or the token, in a dry run); for verify, the
	// policy given.
	Policy verify.Policy
	// Certificate summarises the signing certificate (sign), or the
	// certificate of the first signature that verified (verify).
	Certificate *certificate.Summary
	// SignedTimestamps is true when the bundles carry RFC 3161 timestamps.
	SignedTimestamps bool
	// Attestations are the predicate types of the attestations a sign run
	// makes for every subject (a dry run: would make), or that a verify
	// run requires of every subject, in order.
	Attestations []string
	// Trust says where the trusted root came from.
	Trust string
	// TrustedRoot is the private trusted root the run read and parsed,
	// once; nil for the public-good instance.
	TrustedRoot *root.TrustedRoot
	// Subjects are the manifests, one per digest, in the order resolved.
	Subjects []Subject
	// Verified is true when every subject verified in every format.
	Verified bool
	// Unverified is true when signing skipped the read-back verification.
	Unverified bool
	// Destination is the repository a promote run copied to.
	Destination string
	// VSA is true when a promote run signs verification summaries;
	// VSAPolicy is then the identity it signs them as, and VSACertificate
	// its certificate.
	VSA            bool
	VSAPolicy      verify.Policy
	VSACertificate *certificate.Summary
	// Started and Duration time the run.
	Started  time.Time
	Duration time.Duration
}

// Subject is what the run did with one manifest.
type Subject struct {
	// Input is the reference as given; Digest is repository@sha256:….
	Input, Digest string
	// Platform is os/arch for a manifest of an index.
	Platform string
	// Signatures are those written (or reused) by a sign run.
	Signatures []sign.Signature
	// Verifications are the read-back checks, one per format.
	Verifications []verify.Result
	// Err is a signing or registry error for this subject.
	Err error
	// Promotion is what a promote run did with the subject after it
	// verified at the source; nil when nothing was copied.
	Promotion *Promotion
}

// Promotion is one subject's promotion: its copy, and the checks at the
// destination.
type Promotion struct {
	// Destination is repository@sha256:… at the destination: the source
	// digest in the destination repository.
	Destination string
	// Copied is what was written there, and what was found.
	Copied promote.Copied
	// Verifications are the verify gate's checks, read back from the
	// destination registry.
	Verifications []verify.Result
	// VSAs are the verification summaries signed there (or found from an
	// earlier run), one per format.
	VSAs []sign.Signature
}

// ok reports whether p verified at the destination and, when vsa is
// true, got its verification summary.
func (p *Promotion) ok(vsa bool) bool {
	return p != nil && allVerified(p.Verifications) && (!vsa || len(p.VSAs) > 0)
}

// allVerified reports whether there are results and each verified.
func allVerified(rs []verify.Result) bool {
	return len(rs) > 0 && !slices.ContainsFunc(rs, func(v verify.Result) bool { return !v.Verified })
}

// ok reports whether s was signed, and verified in every format when
// verified is true.
func (s *Subject) ok(verified bool) bool {
	if s.Err != nil {
		return false
	}
	return !verified || allVerified(s.Verifications)
}

// ok reports whether every subject passed, verified when verified is true;
// a promote run's subjects must also have passed at the destination.
func (r *Result) ok(verified bool) bool {
	return len(r.Subjects) > 0 && !slices.ContainsFunc(r.Subjects, func(s Subject) bool {
		return !s.ok(verified) || r.Command == "promote" && !s.Promotion.ok(r.VSA)
	})
}

// newSubject starts the result of s.
func newSubject(s registry.Subject) Subject {
	return Subject{Input: s.Input, Digest: s.Digest.String(), Platform: s.Platform}
}
