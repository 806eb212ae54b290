// Package report describes what a keyless run did, and renders it for people
// and for machines: the Markdown job summary, the JSON report, the outputs,
// and the cosign commands a downstream verifier needs (package policy
// writes the admission policies).
package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Run is the outcome of one keyless sign or verify run.
type Run struct {
	// Command is "sign" or "verify".
	Command string `json:"command"`
	// DryRun is true when nothing was signed.
	DryRun bool `json:"dryRun,omitempty"`
	// Issuer and Identity are the certificate's OIDC issuer and SAN: what
	// the signature was made as (sign), or the policy (verify).
	Issuer   string `json:"certificateOidcIssuer"`
	Identity string `json:"certificateIdentity"`
	// IdentityRegexp and IssuerRegexp are set when verify used patterns.
	IdentityRegexp string `json:"certificateIdentityRegexp,omitempty"`
	IssuerRegexp   string `json:"certificateOidcIssuerRegexp,omitempty"`
	// Certificate holds the signing certificate's Fulcio extensions.
	Certificate *certificate.Summary `json:"certificate,omitempty"`
	// Formats are the storage formats written or checked.
	Formats []sign.Format `json:"formats"`
	// SignedTimestamps is true when the bundles carry RFC 3161 timestamps,
	// which cosign v2 must be told to check (--use-signed-timestamps).
	SignedTimestamps bool `json:"signedTimestamps,omitempty"`
	// Trust says where the trusted root came from.
	Trust string `json:"trust"`
	// TrustedRoot is the private trusted root the run read and parsed, once,
	// for the admission policies; nil for the public-good instance.
	TrustedRoot *root.TrustedRoot `json:"-"`
	// Policy is the verification policy used.
	Policy verify.Policy `json:"policy"`
	// Subjects are the manifests, one entry per digest.
	Subjects []Subject `json:"subjects"`
	// Verified is true when every subject verified in every format.
	Verified bool `json:"verified"`
	// Unverified is true when signing skipped the read-back verification
	// (the verify input was false).
	Unverified bool `json:"unverified,omitempty"`
	// Started and Duration time the run.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNs"`
}

// Subject is one manifest's outcome.
type Subject struct {
	// Input is the reference as given; Digest is repository@sha256:….
	Input  string `json:"input"`
	Digest string `json:"digest"`
	// Platform is os/arch for a manifest of an index.
	Platform string `json:"platform,omitempty"`
	// Signatures are those written by this run (sign only).
	Signatures []sign.Signature `json:"signatures,omitempty"`
	// Verifications are the read-back checks, one per format.
	Verifications []verify.Result `json:"verifications,omitempty"`
	// Error is a signing or registry error for this subject.
	Error string `json:"error,omitempty"`
}

// OK reports whether s was signed (if signing) and verified in every format.
func (s Subject) OK(wantVerify bool) bool {
	if s.Error != "" {
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

// Failure says why s failed: its error, or each format's reasons.
func (s Subject) Failure() string {
	if s.Error != "" {
		return s.Error
	}
	var reasons []string
	for _, v := range s.Verifications {
		if !v.Verified {
			reasons = append(reasons, fmt.Sprintf("%s: %s", v.Format, strings.Join(v.Reasons, "; ")))
		}
	}
	return "verification failed: " + strings.Join(reasons, "; ")
}

// Output is one named output value.
type Output struct {
	Name, Value string
}

// Outputs returns the run's outputs, in a fixed order.
func (r *Run) Outputs() []Output {
	var digests, sigs, idx []string
	for _, s := range r.Subjects {
		digests = append(digests, s.Digest)
		for _, sig := range s.Signatures {
			sigs = append(sigs, sig.Location)
			idx = append(idx, strconv.FormatInt(sig.LogIndex, 10))
		}
		if r.Command == "verify" {
			for _, v := range s.Verifications {
				if v.Location != "" {
					sigs = append(sigs, v.Location)
					idx = append(idx, strconv.FormatInt(v.LogIndex, 10))
				}
			}
		}
	}
	return []Output{
		{"digests", strings.Join(digests, "\n")},
		{"signatures", strings.Join(sigs, "\n")},
		{"rekor-log-indexes", strings.Join(idx, "\n")},
		{"certificate-identity", r.Identity},
		{"certificate-oidc-issuer", r.Issuer},
		{"verified", strconv.FormatBool(r.Verified)},
	}
}

// PolicyInput is what the admission policies for r are built from: its
// digests, its identity, and the logs of its signatures.
func (r *Run) PolicyInput() policy.Input {
	in := policy.Input{Identity: r.Policy, Formats: r.Formats, SignedTimestamps: r.SignedTimestamps}
	in.Identity.Identity, in.Identity.Issuer = r.Identity, r.Issuer
	in.Identity.IdentityRegexp, in.Identity.IssuerRegexp = r.IdentityRegexp, r.IssuerRegexp
	for _, s := range r.Subjects {
		in.Images = append(in.Images, s.Digest)
		// A reused signature, and every one a verify run checked, is
		// known by its verification: its log is the one that verified.
		for _, v := range s.Verifications {
			if v.Verified {
				in.Signatures = append(in.Signatures, policy.Signature{Format: v.Format, LogURL: v.LogURL})
			}
		}
		for _, sig := range s.Signatures {
			in.Signatures = append(in.Signatures, policy.Signature{Format: sig.Format, LogURL: sig.LogURL, Rekor: rekorVersion(sig.Bundle)})
		}
	}
	return in
}

// rekorVersion is the major version of the Rekor log that holds the log
// entries of b: 2 when every entry is a Rekor v2 entry (hashedrekord
// 0.0.2), 1 when one is not, 0 without entries.
func rekorVersion(b *protobundle.Bundle) int {
	v := 0
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		if e.GetKindVersion().GetVersion() != "0.0.2" {
			return 1
		}
		v = 2
	}
	return v
}
