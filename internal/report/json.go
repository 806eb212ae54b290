package report

import (
	"encoding/json"
	"time"

	"github.com/keyless-dev/keyless/internal/sign"
)

// record is the JSON report: the shape docs/cli.md documents and the e2e
// tests read. The identity is written twice, as the certificate's fields
// and as the verification policy.
type record struct {
	Command          string        `json:"command"`
	DryRun           bool          `json:"dryRun,omitempty"`
	Issuer           string        `json:"certificateOidcIssuer"`
	Identity         string        `json:"certificateIdentity"`
	IdentityRegexp   string        `json:"certificateIdentityRegexp,omitempty"`
	IssuerRegexp     string        `json:"certificateOidcIssuerRegexp,omitempty"`
	Certificate      *Certificate  `json:"certificate,omitempty"`
	Formats          []sign.Format `json:"formats"`
	Attestations     []string      `json:"attestationTypes,omitempty"`
	SignedTimestamps bool          `json:"signedTimestamps,omitempty"`
	Trust            string        `json:"trust"`
	Policy           policyRecord  `json:"policy"`
	Destination      string        `json:"destination,omitempty"`
	VSA              *vsaRecord    `json:"vsa,omitempty"`
	Subjects         []Subject     `json:"subjects"`
	Verified         bool          `json:"verified"`
	Unverified       bool          `json:"unverified,omitempty"`
	Started          time.Time     `json:"started"`
	Duration         time.Duration `json:"durationNs"`
}

// vsaRecord is the identity a promote run signed verification summaries
// as, in the JSON report.
type vsaRecord struct {
	Issuer      string       `json:"certificateOidcIssuer"`
	Identity    string       `json:"certificateIdentity"`
	Certificate *Certificate `json:"certificate,omitempty"`
}

// policyRecord is the verification policy in the JSON report.
type policyRecord struct {
	Issuer            string `json:"issuer,omitempty"`
	IssuerRegexp      string `json:"issuerRegexp,omitempty"`
	Identity          string `json:"identity,omitempty"`
	IdentityRegexp    string `json:"identityRegexp,omitempty"`
	SourceRepository  string `json:"sourceRepository,omitempty"`
	SourceRef         string `json:"sourceRef,omitempty"`
	WorkflowTrigger   string `json:"workflowTrigger,omitempty"`
	BuildSignerDigest string `json:"buildSignerDigest,omitempty"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
}

// MarshalJSON writes r as the JSON report. A dry run verified nothing,
// so its policy is empty.
func (r Run) MarshalJSON() ([]byte, error) {
	id := r.Identity
	rec := record{
		Command: r.Command, DryRun: r.DryRun,
		Issuer: id.Issuer, Identity: id.SAN, IdentityRegexp: id.SANRegexp, IssuerRegexp: id.IssuerRegexp,
		Certificate: id.Certificate, Formats: r.Formats, Attestations: r.Attestations, SignedTimestamps: r.SignedTimestamps, Trust: r.Trust,
		Subjects: r.Subjects, Verified: r.Verified, Unverified: r.Unverified, Started: r.Started, Duration: r.Duration,
		Destination: r.Destination,
	}
	if v := r.VSA; v != nil {
		rec.VSA = &vsaRecord{Issuer: v.Issuer, Identity: v.SAN, Certificate: v.Certificate}
	}
	if !r.DryRun {
		e := id.Extensions
		rec.Policy = policyRecord{
			Issuer: id.Issuer, IssuerRegexp: id.IssuerRegexp, Identity: id.SAN, IdentityRegexp: id.SANRegexp,
			SourceRepository: e.SourceRepository, SourceRef: e.SourceRef, WorkflowTrigger: e.WorkflowTrigger,
			BuildSignerDigest: e.BuildSignerDigest, RunnerEnvironment: e.RunnerEnvironment,
		}
	}
	return json.Marshal(rec)
}
