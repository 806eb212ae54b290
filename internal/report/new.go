package report

import (
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// New builds the record of a run from its result.
func New(res *job.Result) *Run {
	p := res.Policy
	r := &Run{
		Command: res.Command,
		DryRun:  res.DryRun,
		Identity: Identity{
			Issuer: p.Issuer, SAN: p.Identity,
			IssuerRegexp: p.IssuerRegexp, SANRegexp: p.IdentityRegexp,
			Extensions: Extensions{
				SourceRepository: p.SourceRepository, SourceRef: p.SourceRef, WorkflowTrigger: p.WorkflowTrigger,
				BuildSignerDigest: p.BuildSignerDigest, RunnerEnvironment: p.RunnerEnvironment,
			},
			Certificate: newCertificate(res.Certificate),
		},
		Formats:          res.Formats,
		Attestations:     res.Attestations,
		SignedTimestamps: res.SignedTimestamps,
		Trust:            res.Trust,
		Verified:         res.Verified,
		Unverified:       res.Unverified,
		Started:          res.Started,
		Duration:         res.Duration,
		Destination:      res.Destination,
	}
	if res.VSA && res.VSAPolicy.Identity != "" {
		r.VSA = &Identity{Issuer: res.VSAPolicy.Issuer, SAN: res.VSAPolicy.Identity, Certificate: newCertificate(res.VSACertificate)}
	}
	if res.Subjects != nil {
		r.Subjects = make([]Subject, len(res.Subjects))
	}
	for i, s := range res.Subjects {
		r.Subjects[i] = newSubject(s)
		if p := r.Subjects[i].Promotion; p != nil {
			p.WantVSA = res.VSA
		}
	}
	return r
}

func newSubject(s job.Subject) Subject {
	out := Subject{Input: s.Input, Digest: s.Digest, Platform: s.Platform}
	if s.Err != nil {
		out.Error = s.Err.Error()
	}
	for _, sig := range s.Signatures {
		out.Signatures = append(out.Signatures, newSignature(sig))
	}
	for _, v := range s.Verifications {
		out.Verifications = append(out.Verifications, newVerification(v))
	}
	out.Promotion = newPromotion(s.Promotion)
	return out
}

func newSignature(s sign.Signature) Signature {
	return Signature{
		Format: s.Format, PredicateType: s.PredicateType, Location: s.Location, LogURL: s.LogURL, LogIndex: s.LogIndex,
		Reused: s.Reused, Rekor: rekorVersion(s.Bundle),
	}
}

func newVerification(v verify.Result) Verification {
	return Verification{
		Format: v.Format, PredicateType: v.PredicateType, Verified: v.Verified, Location: v.Location, Certificate: newCertificate(v.Certificate),
		LogURL: v.LogURL, LogIndex: v.LogIndex, SignedAt: v.SignedAt, Annotations: v.Annotations, Predicate: v.Predicate, Reasons: v.Reasons,
	}
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
