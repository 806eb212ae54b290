package payload

import (
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// BuildkiteBuildType is a Buildkite job: BuildkiteParameters and
// BuildkiteInternal, the repository at the build's commit as a resolved
// dependency, builder.id the certificate's subject (the pipeline's URL,
// https://buildkite.com/<organization>/<pipeline>) and invocationId the
// job's URL, as Fulcio's buildkite-job template writes them.
const BuildkiteBuildType = "https://github.com/keyless-dev/keyless/buildtypes/buildkite/v1"

// BuildkiteParameters are the external parameters of BuildkiteBuildType:
// the organization and pipeline slugs, the build's branch or tag, and the
// step's key.
type BuildkiteParameters struct {
	Organization string `json:"organization"`
	Pipeline     string `json:"pipeline"`
	Branch       string `json:"branch,omitempty"`
	Tag          string `json:"tag,omitempty"`
	Step         string `json:"step,omitempty"`
}

// BuildkiteInternal are the internal parameters of BuildkiteBuildType.
type BuildkiteInternal struct {
	Buildkite BuildkiteRun `json:"buildkite"`
}

// BuildkiteRun is the build and job that ran, what started the build,
// and where the job ran.
type BuildkiteRun struct {
	BuildNumber       string `json:"build_number"`
	JobID             string `json:"job_id"`
	AgentID           string `json:"agent_id,omitempty"`
	BuildSource       string `json:"build_source"`
	RunnerEnvironment string `json:"runner_environment"`
}

// buildkiteFields: the certificate's subject is the pipeline, its run URL
// <pipeline>/builds/<number>#<job id>, its digest the build's commit.
// Fulcio writes a build number of a million or more in float notation
// (1.234567e+06), so the number is compared as a number.
func buildkiteFields(p verified, cert certificate.Summary) ([]field, error) {
	var ext BuildkiteParameters
	var in BuildkiteInternal
	if err := decodeParameters(p, &ext, &in); err != nil {
		return nil, err
	}
	bk := in.Buildkite
	san := cert.SubjectAlternativeName
	pipeline := ""
	if i := strings.LastIndex(san, "/"); i > 0 {
		if j := strings.LastIndex(san[:i], "/"); j > 0 && ext.Organization != "" && ext.Pipeline != "" {
			pipeline = san[:j] + "/" + ext.Organization + "/" + ext.Pipeline
		}
	}
	run := ""
	if bk.BuildNumber != "" && bk.JobID != "" {
		run = san + "/builds/" + certifiedNumber(cert.RunInvocationURI, bk.BuildNumber) + "#" + bk.JobID
	}
	var commit string
	if deps := p.BuildDefinition.ResolvedDependencies; len(deps) > 0 {
		commit = deps[0].Digest["gitCommit"]
	}
	return []field{
		{"runDetails.builder.id", "SubjectAlternativeName", san, p.RunDetails.Builder.ID, true},
		{"externalParameters (organization, pipeline)", "SubjectAlternativeName", san, pipeline, true},
		{"runDetails.metadata.invocationId", "RunInvocationURI", cert.RunInvocationURI, invocation(p), true},
		{"internalParameters.buildkite (build_number, job_id)", "RunInvocationURI", cert.RunInvocationURI, run, true},
		{"buildDefinition.resolvedDependencies[0].digest.gitCommit", "SourceRepositoryDigest", cert.SourceRepositoryDigest, commit, true},
		{"internalParameters.buildkite.build_source", "BuildTrigger", cert.BuildTrigger, bk.BuildSource, false},
		{"internalParameters.buildkite.runner_environment", "RunnerEnvironment", cert.RunnerEnvironment, bk.RunnerEnvironment, false},
	}, nil
}

// certifiedNumber is number as the certificate's run URL writes it, when
// the two are the same number (1234567 and 1.234567e+06), else number.
func certifiedNumber(runURL, number string) string {
	_, rest, ok := strings.Cut(runURL, "/builds/")
	written, _, _ := strings.Cut(rest, "#")
	a, errA := strconv.ParseFloat(written, 64)
	b, errB := strconv.ParseFloat(number, 64)
	if ok && errA == nil && errB == nil && a == b {
		return written
	}
	return number
}
