// Package report describes what a keyless run did, and renders it for people
// and for machines: the Markdown job summary, the JSON report, the outputs,
// and the cosign commands a downstream verifier needs (package policy
// writes the admission policies).
package report

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/sign"
)

// Run is the record of one keyless sign, verify or promote run, built once from the
// job's result by New. Its JSON form (see MarshalJSON) is the report file.
type Run struct {
	// Command is "sign", "verify" or "promote".
	Command string
	// DryRun is true when nothing was signed.
	DryRun bool
	// Identity is what the signatures were made as (sign), or what
	// verification required (verify).
	Identity Identity
	// Formats are the storage formats written or checked.
	Formats []sign.Format
	// Attestations are the predicate types a sign run attests for every
	// subject (a dry run: would attest), or a verify run requires of every
	// subject; the policies require them all.
	Attestations []string
	// SignedTimestamps is true when the bundles carry RFC 3161 timestamps,
	// which cosign v2 must be told to check (--use-signed-timestamps).
	SignedTimestamps bool
	// Trust says where the trusted root came from.
	Trust string
	// Subjects are the manifests, one entry per digest.
	Subjects []Subject
	// Verified is true when every subject verified in every format.
	Verified bool
	// Unverified is true when signing skipped the read-back verification
	// (the verify input was false).
	Unverified bool
	// Destination is the repository a promote run copied to.
	Destination string
	// VSA is the identity a promote run signed its verification summaries
	// as; nil when it signed none.
	VSA *Identity
	// Started and Duration time the run.
	Started  time.Time
	Duration time.Duration
}

// Identity is a run's one identity: the certificate's OIDC issuer and
// subject alternative name (or patterns for them), the extension values
// verification required, and the certificate that showed it.
type Identity struct {
	// Issuer and SAN are the certificate's OIDC issuer and identity.
	Issuer, SAN string
	// IssuerRegexp and SANRegexp, when set, are the patterns a verify run
	// matched the issuer and identity with.
	IssuerRegexp, SANRegexp string
	// Extensions are the certificate extension values verification
	// required; empty ones were not checked.
	Extensions Extensions
	// Certificate is the signing certificate (sign), or the certificate of
	// the first signature that verified (verify); nil when none.
	Certificate *Certificate
}

// Extensions are the certificate extension values a verification requires.
type Extensions struct {
	SourceRepository, SourceRef, WorkflowTrigger, BuildSignerDigest, RunnerEnvironment string
}

// Subject is one manifest's outcome.
type Subject struct {
	// Input is the reference as given; Digest is repository@sha256:….
	Input  string `json:"input"`
	Digest string `json:"digest"`
	// Platform is os/arch for a manifest of an index.
	Platform string `json:"platform,omitempty"`
	// Signatures are those written by this run (sign only).
	Signatures []Signature `json:"signatures,omitempty"`
	// Verifications are the read-back checks, one per format.
	Verifications []Verification `json:"verifications,omitempty"`
	// Error is a signing or registry error for this subject.
	Error string `json:"error,omitempty"`
	// Promotion is what a promote run did with the subject once it
	// verified at the source; nil when nothing was copied (the subject
	// then failed, or has an error saying why it was not promoted).
	Promotion *Promotion `json:"promotion,omitempty"`
}

// Signature is one signature a sign run wrote, or found already there.
type Signature struct {
	// Format is how it was stored.
	Format sign.Format `json:"format"`
	// PredicateType is the attestation's predicate type; empty for an
	// image signature.
	PredicateType string `json:"predicateType,omitempty"`
	// Location is the referrer manifest or .sig tag (.att tag for an
	// attestation) it was written to.
	Location string `json:"location"`
	// LogURL is the transparency log's base URL; LogIndex the entry's index.
	LogURL   string `json:"logUrl"`
	LogIndex int64  `json:"logIndex"`
	// Reused is true when a valid signature by the same identity, with the
	// same annotations, was already stored, so none was made.
	Reused bool `json:"reused,omitempty"`
	// Rekor is the major version of the log that holds its entry, 1 or 2,
	// for the admission policies; 0 when not known (a reused signature).
	Rekor int `json:"-"`
}

// Verification is one format's read-back check of a subject.
type Verification struct {
	// Format is the storage format checked.
	Format sign.Format `json:"format"`
	// PredicateType is the attestation's predicate type; empty for an
	// image signature.
	PredicateType string `json:"predicateType,omitempty"`
	// Verified is true when a signature passed every check.
	Verified bool `json:"verified"`
	// Location is where the verified signature was read from.
	Location string `json:"location,omitempty"`
	// Certificate is the verified signature's certificate.
	Certificate *Certificate `json:"certificate,omitempty"`
	// LogURL is the base URL of the transparency log that holds the
	// verified signature's entry; LogIndex the entry's index.
	LogURL   string `json:"logUrl,omitempty"`
	LogIndex int64  `json:"logIndex"`
	// SignedAt is the earliest verified timestamp.
	SignedAt time.Time `json:"signedAt,omitzero"`
	// Annotations are the annotations signed into the verified payload.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Predicate is the verified attestation's predicate (keyless verify
	// with attestation-type); empty for an image signature.
	Predicate json.RawMessage `json:"predicate,omitempty"`
	// Reasons say why each signature that was found failed, or that none was.
	Reasons []string `json:"reasons,omitempty"`
}

// OK reports whether s was signed (if signing) and verified in every
// format, and (if promoting) verified again at the destination.
func (s Subject) OK(wantVerify bool) bool {
	if s.Error != "" || s.Promotion != nil && !s.Promotion.OK() {
		return false
	}
	if !wantVerify {
		return true
	}
	if len(s.Verifications) == 0 {
		return false
	}
	for _, v := range s.Verifications {
		if !v.Verified {
			return false
		}
	}
	return true
}

// OK reports whether the run did what was asked: every subject signed (and
// verified, unless verification was switched off), or verified.
func (r *Run) OK() bool {
	if len(r.Subjects) == 0 {
		return false
	}
	for _, s := range r.Subjects {
		if !s.OK(!r.Unverified && !r.DryRun) {
			return false
		}
	}
	return true
}

// Failure says why s failed: its error, or each format's reasons (at the
// source, then at the destination).
func (s Subject) Failure() string {
	if s.Error != "" {
		return s.Error
	}
	if s.Promotion != nil && !s.Promotion.OK() && s.sourceOK() {
		return s.Promotion.failure()
	}
	var reasons []string
	for _, v := range s.Verifications {
		if !v.Verified {
			reasons = append(reasons, fmt.Sprintf("%s: %s", v.Format, strings.Join(v.Reasons, "; ")))
		}
	}
	return "verification failed: " + strings.Join(reasons, "; ")
}

// sourceOK reports whether every verification of s passed.
func (s Subject) sourceOK() bool {
	for _, v := range s.Verifications {
		if !v.Verified {
			return false
		}
	}
	return len(s.Verifications) > 0
}

// Output is one named output value.
type Output struct {
	Name, Value string
}

// Outputs returns the run's outputs, in a fixed order.
func (r *Run) Outputs() []Output {
	if r.Command == "promote" {
		return r.promoteOutputs()
	}
	var digests, sigs, idx, atts []string
	for _, s := range r.Subjects {
		digests = append(digests, s.Digest)
		for _, sig := range s.Signatures {
			if sig.PredicateType != "" {
				atts = append(atts, sig.PredicateType+" "+sig.Location+" "+strconv.FormatInt(sig.LogIndex, 10))
				continue
			}
			sigs = append(sigs, sig.Location)
			idx = append(idx, strconv.FormatInt(sig.LogIndex, 10))
		}
		if r.Command == "verify" {
			for _, v := range s.Verifications {
				if v.Location != "" && v.PredicateType == "" {
					sigs = append(sigs, v.Location)
					idx = append(idx, strconv.FormatInt(v.LogIndex, 10))
				}
			}
		}
	}
	out := []Output{
		{"digests", strings.Join(digests, "\n")},
		{"signatures", strings.Join(sigs, "\n")},
		{"rekor-log-indexes", strings.Join(idx, "\n")},
		{"certificate-identity", r.Identity.SAN},
		{"certificate-oidc-issuer", r.Identity.Issuer},
		{"verified", strconv.FormatBool(r.Verified)},
	}
	// A run without attestations has the outputs it always had.
	if len(atts) > 0 {
		out = append(out, Output{"attestations", strings.Join(atts, "\n")})
	}
	return out
}
