package report

import (
	"slices"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/verify"
)

// PolicyInput is what the admission policies for r are built from: its
// digests, its identity, and the logs of its signatures.
func (r *Run) PolicyInput() policy.Input {
	id, e := r.Identity, r.Identity.Extensions
	in := policy.Input{
		Identity: verify.Policy{
			Issuer: id.Issuer, IssuerRegexp: id.IssuerRegexp, Identity: id.SAN, IdentityRegexp: id.SANRegexp,
			SourceRepository: e.SourceRepository, SourceRef: e.SourceRef, WorkflowTrigger: e.WorkflowTrigger,
			BuildSignerDigest: e.BuildSignerDigest, RunnerEnvironment: e.RunnerEnvironment,
		},
		Formats:          r.Formats,
		SignedTimestamps: r.SignedTimestamps,
		// What a sign run attests, the policies require, even before
		// (a dry run) anything is signed.
		Attestations: slices.Clone(r.Attestations),
	}
	// A sign run's provenance names the signing job's source: the
	// policies require that of the provenance they check.
	if c := r.Identity.Certificate; r.Command == "sign" && c != nil {
		in.Source = policy.Source{Repository: c.SourceRepositoryURI, Ref: c.SourceRepositoryRef}
	}
	if r.Command == "promote" {
		return r.destinationPolicyInput(in)
	}
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
			in.Signatures = append(in.Signatures, policy.Signature{Format: sig.Format, LogURL: sig.LogURL, Rekor: sig.Rekor})
			// The attestations the run signed: the policies require them.
			if pt := sig.PredicateType; pt != "" && pt != payload.SignPredicateType && !slices.Contains(in.Attestations, pt) {
				in.Attestations = append(in.Attestations, pt)
			}
		}
	}
	return in
}

// destinationPolicyInput is a promote run's policy input: the promoted
// digests at the destination, and the logs of the signatures that
// verified there.
func (r *Run) destinationPolicyInput(in policy.Input) policy.Input {
	for _, s := range r.Subjects {
		if s.Promotion == nil {
			continue
		}
		in.Images = append(in.Images, s.Promotion.Destination)
		for _, v := range s.Promotion.Verifications {
			if v.Verified {
				in.Signatures = append(in.Signatures, policy.Signature{Format: v.Format, LogURL: v.LogURL})
			}
		}
	}
	return in
}
