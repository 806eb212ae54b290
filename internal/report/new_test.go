package report

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

var (
	started = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	summary = &certificate.Summary{
		CertificateIssuer: "CN=sigstore-intermediate,O=sigstore.dev", SubjectAlternativeName: ghID,
		Extensions: certificate.Extensions{
			Issuer: ghIS, GithubWorkflowTrigger: "push", SourceRepositoryURI: "https://github.com/octo/app",
			BuildSignerDigest: "abc", RunnerEnvironment: "github-hosted", SourceRepositoryVisibilityAtSigning: "public",
		},
	}
	cert = &Certificate{
		CertificateIssuer: "CN=sigstore-intermediate,O=sigstore.dev", SubjectAlternativeName: ghID,
		Issuer: ghIS, GithubWorkflowTrigger: "push", SourceRepositoryURI: "https://github.com/octo/app",
		BuildSignerDigest: "abc", RunnerEnvironment: "github-hosted", SourceRepositoryVisibilityAtSigning: "public",
	}
	ghPolicy = verify.Policy{Identity: ghID, Issuer: ghIS}
)

// bundleIn is a signed bundle whose log entries have these kind versions.
func bundleIn(versions ...string) *protobundle.Bundle {
	var entries []*protorekor.TransparencyLogEntry
	for _, v := range versions {
		entries = append(entries, &protorekor.TransparencyLogEntry{KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: v}})
	}
	return &protobundle.Bundle{VerificationMaterial: &protobundle.VerificationMaterial{TlogEntries: entries}}
}

// results are the job results whose JSON reports are in testdata/, as
// the report wrote them before it owned its JSON types.
func results() map[string]*job.Result {
	return map[string]*job.Result{
		"sign": {
			Command: "sign", Policy: ghPolicy, Certificate: summary,
			Formats: []sign.Format{sign.Bundle, sign.Legacy}, SignedTimestamps: true, Trust: "files: /etc/root.json",
			Subjects: []job.Subject{
				{
					Input: "ghcr.io/octo/app:v1", Digest: "ghcr.io/octo/app@sha256:" + hexA,
					Signatures: []sign.Signature{
						{Format: sign.Bundle, Location: "ghcr.io/octo/app@sha256:" + hexB, LogURL: "https://rekor.example", LogIndex: 100, Bundle: bundleIn("0.0.2")},
						{Format: sign.Legacy, Location: "ghcr.io/octo/app:sha256-" + hexA + ".sig", LogURL: "https://rekor.example", LogIndex: 101, Reused: true},
					},
					Verifications: []verify.Result{
						{Format: sign.Bundle, Verified: true, Location: "ghcr.io/octo/app@sha256:" + hexB, Certificate: summary, LogURL: "https://rekor.example", LogIndex: 100, SignedAt: started, Annotations: map[string]string{"env": "prod"}},
						{Format: sign.Legacy, Verified: true, Location: "ghcr.io/octo/app:sha256-" + hexA + ".sig", LogIndex: 101},
					},
				},
				{Input: "ghcr.io/octo/app:v1", Digest: "ghcr.io/octo/app@sha256:" + hexB, Platform: "linux/arm64", Err: errors.New("writing: denied")},
			},
			Started: started, Duration: 1500 * time.Millisecond,
		},
		"verify": {
			Command: "verify", Formats: []sign.Format{sign.Bundle}, Trust: "Sigstore public-good instance (TUF)",
			Policy: verify.Policy{
				IdentityRegexp: `^https://github\.com/octo/.*$`, IssuerRegexp: `https://token\..*`,
				SourceRepository: "https://github.com/octo/app", SourceRef: "refs/heads/main", WorkflowTrigger: "push",
				BuildSignerDigest: "abc", RunnerEnvironment: "github-hosted",
			},
			Subjects: []job.Subject{{
				Input: "ghcr.io/octo/app@sha256:" + hexA, Digest: "ghcr.io/octo/app@sha256:" + hexA,
				Verifications: []verify.Result{{Format: sign.Bundle, LogIndex: -1, Reasons: []string{"no signature found"}}},
			}},
			Started: started, Duration: time.Second,
		},
		"dryrun": {
			Command: "sign", DryRun: true, Policy: ghPolicy, Formats: []sign.Format{sign.Bundle}, Trust: "Sigstore public-good instance (TUF)",
			Subjects: []job.Subject{{Input: "ghcr.io/octo/app:v1", Digest: "ghcr.io/octo/app@sha256:" + hexA}},
			Started:  started, Duration: time.Second,
		},
		"unverified": {
			Command: "sign", Policy: ghPolicy, Certificate: summary, Formats: []sign.Format{sign.Bundle}, Trust: "t", Unverified: true,
			Subjects: []job.Subject{{Input: "a", Digest: "ghcr.io/octo/app@sha256:" + hexA, Signatures: []sign.Signature{{Format: sign.Bundle, Location: "l", LogURL: "u", LogIndex: 1}}}},
			Started:  started,
		},
	}
}

// TestJSON: the JSON report of each run is, byte for byte, what the
// report wrote before it owned its JSON types (testdata/*.json), which is
// what the README documents and the e2e tests read.
func TestJSON(t *testing.T) {
	for name, res := range results() {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(New(res), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("JSON report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		res  *job.Result
		want *Run
	}{
		{
			name: "sign: one identity block from the policy and the certificate",
			res: &job.Result{
				Command: "sign", Formats: []sign.Format{sign.Bundle}, SignedTimestamps: true, Trust: "t",
				Policy: ghPolicy, Certificate: summary, Verified: true, Started: started, Duration: time.Second,
				Subjects: []job.Subject{{
					Input: "app:v1", Digest: "app@sha256:" + hexA, Platform: "linux/amd64",
					Signatures:    []sign.Signature{{Format: sign.Bundle, Location: "loc", LogURL: "u", LogIndex: 7, Bundle: bundleIn("0.0.2")}},
					Verifications: []verify.Result{{Format: sign.Bundle, Verified: true, Location: "loc", Certificate: summary, LogURL: "u", LogIndex: 7, SignedAt: started}},
				}},
			},
			want: &Run{
				Command: "sign", Identity: Identity{Issuer: ghIS, SAN: ghID, Certificate: cert},
				Formats: []sign.Format{sign.Bundle}, SignedTimestamps: true, Trust: "t", Verified: true, Started: started, Duration: time.Second,
				Subjects: []Subject{{
					Input: "app:v1", Digest: "app@sha256:" + hexA, Platform: "linux/amd64",
					Signatures:    []Signature{{Format: sign.Bundle, Location: "loc", LogURL: "u", LogIndex: 7, Rekor: 2}},
					Verifications: []Verification{{Format: sign.Bundle, Verified: true, Location: "loc", Certificate: cert, LogURL: "u", LogIndex: 7, SignedAt: started}},
				}},
			},
		},
		{
			name: "verify: patterns and required extensions",
			res: &job.Result{
				Command: "verify", Formats: []sign.Format{sign.Legacy},
				Policy: verify.Policy{
					IdentityRegexp: "^a$", IssuerRegexp: "^b$", SourceRepository: "r", SourceRef: "ref",
					WorkflowTrigger: "push", BuildSignerDigest: "d", RunnerEnvironment: "github-hosted",
				},
				Subjects: []job.Subject{},
			},
			want: &Run{
				Command: "verify", Formats: []sign.Format{sign.Legacy},
				Identity: Identity{SANRegexp: "^a$", IssuerRegexp: "^b$", Extensions: Extensions{
					SourceRepository: "r", SourceRef: "ref", WorkflowTrigger: "push", BuildSignerDigest: "d", RunnerEnvironment: "github-hosted",
				}},
				Subjects: []Subject{},
			},
		},
		{
			name: "an error is its message; the log's Rekor version comes from the bundle",
			res: &job.Result{
				Command: "sign", Policy: ghPolicy, Unverified: true,
				Subjects: []job.Subject{
					{Digest: "a", Err: errors.New("registry: denied")},
					{Digest: "b", Signatures: []sign.Signature{
						{Format: sign.Bundle, Bundle: bundleIn("0.0.1")},
						{Format: sign.Bundle, Bundle: bundleIn("0.0.2", "0.0.1")},
						{Format: sign.Bundle, Bundle: bundleIn()},
						{Format: sign.Legacy, Reused: true},
					}},
				},
			},
			want: &Run{
				Command: "sign", Identity: Identity{Issuer: ghIS, SAN: ghID}, Unverified: true,
				Subjects: []Subject{
					{Digest: "a", Error: "registry: denied"},
					{Digest: "b", Signatures: []Signature{
						{Format: sign.Bundle, Rekor: 1},
						{Format: sign.Bundle, Rekor: 1},
						{Format: sign.Bundle},
						{Format: sign.Legacy, Reused: true},
					}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, New(tt.res)); diff != "" {
				t.Errorf("New() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyInput: the policies see every digest, the run's identity, a
// signature's log from its writing or, when reused or checked by a verify
// run, from its verification (failed ones do not count), and the
// predicate types of the attestations the run signed.
func TestPolicyInput(t *testing.T) {
	r := New(&job.Result{
		Command: "sign", Formats: []sign.Format{sign.Bundle, sign.Legacy}, SignedTimestamps: true,
		Policy: verify.Policy{Identity: ghID, Issuer: ghIS, SourceRef: "refs/heads/main"},
		Subjects: []job.Subject{
			{Digest: "app@sha256:" + hexA, Signatures: []sign.Signature{
				{Format: sign.Bundle, LogURL: "v2", Bundle: bundleIn("0.0.2")},
				{Format: sign.Bundle, LogURL: "v2", Bundle: bundleIn("0.0.2"), PredicateType: payload.SignPredicateType},
				{Format: sign.Bundle, LogURL: "v2", Bundle: bundleIn("0.0.2"), PredicateType: "https://slsa.dev/provenance/v1"},
			}},
			{
				Digest:     "app@sha256:" + hexB,
				Signatures: []sign.Signature{{Format: sign.Legacy, Reused: true}},
				Verifications: []verify.Result{
					{Format: sign.Legacy, Verified: true, LogURL: "v1"},
					{Format: sign.Bundle, Verified: false, LogURL: "elsewhere"},
				},
			},
		},
	})
	want := policy.Input{
		Images:   []string{"app@sha256:" + hexA, "app@sha256:" + hexB},
		Identity: verify.Policy{Identity: ghID, Issuer: ghIS, SourceRef: "refs/heads/main"},
		Formats:  []sign.Format{sign.Bundle, sign.Legacy},
		Signatures: []policy.Signature{
			{Format: sign.Bundle, LogURL: "v2", Rekor: 2},
			{Format: sign.Bundle, LogURL: "v2", Rekor: 2},
			{Format: sign.Bundle, LogURL: "v2", Rekor: 2},
			{Format: sign.Legacy, LogURL: "v1"},
			{Format: sign.Legacy},
		},
		SignedTimestamps: true,
		// The cosign sign type is the image signature, not an attestation.
		Attestations: []string{"https://slsa.dev/provenance/v1"},
	}
	if diff := cmp.Diff(want, r.PolicyInput()); diff != "" {
		t.Errorf("PolicyInput() (-want +got):\n%s", diff)
	}
}

// TestPolicyInputSource: a sign run's policies require of a provenance the
// source its signing certificate names; a verify run's, only what the gate
// required (the certificate is of one signature among many).
func TestPolicyInputSource(t *testing.T) {
	cert := &certificate.Summary{SubjectAlternativeName: ghID, Extensions: certificate.Extensions{
		Issuer: ghIS, SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryRef: "refs/heads/main",
	}}
	for _, tt := range []struct {
		command string
		want    policy.Source
	}{
		{"sign", policy.Source{Repository: "https://github.com/octo/app", Ref: "refs/heads/main"}},
		{"verify", policy.Source{}},
	} {
		t.Run(tt.command, func(t *testing.T) {
			r := New(&job.Result{Command: tt.command, Policy: verify.Policy{Identity: ghID, Issuer: ghIS}, Certificate: cert})
			if diff := cmp.Diff(tt.want, r.PolicyInput().Source); diff != "" {
				t.Errorf("Source (-want +got):\n%s", diff)
			}
		})
	}
}
