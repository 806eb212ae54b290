package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

const buildkitePredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/buildkite/v1",
    "externalParameters": {"organization": "acme", "pipeline": "app", "branch": "main", "step": "sign"},
    "internalParameters": {"buildkite": {"build_number": "1234567", "job_id": "job-1", "agent_id": "agent-1", "build_source": "webhook", "runner_environment": "buildkite-hosted"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app.git@refs/heads/main", "digest": {"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}]
  },
  "runDetails": {
    "builder": {"id": "https://buildkite.com/acme/app"},
    "metadata": {"invocationId": "https://buildkite.com/acme/app/builds/1.234567e+06#job-1"}
  }
}`

// buildkiteCert is what Fulcio's buildkite-job template writes for that
// job, its build number in float notation.
func buildkiteCert() certificate.Summary {
	return certificate.Summary{SubjectAlternativeName: "https://buildkite.com/acme/app", Extensions: certificate.Extensions{
		Issuer: "https://agent.buildkite.com", RunInvocationURI: "https://buildkite.com/acme/app/builds/1.234567e+06#job-1",
		RunnerEnvironment: "buildkite-hosted", SourceRepositoryDigest: "9f3182061f1e2cca4702c368cbc039b7dc9d4485", BuildTrigger: "webhook",
	}}
}

const circleciPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/circleci/v1",
    "externalParameters": {"project": "p-1", "pipelineDefinition": "d-1", "ref": "refs/heads/main", "job": "sign"},
    "internalParameters": {"circleci": {"pipeline_id": "pl-1", "workflow_id": "w-1", "job_id": "j-1"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}]
  },
  "runDetails": {
    "builder": {"id": "https://circleci.com/api/v2/projects/p-1/pipeline-definitions/d-1"},
    "metadata": {"invocationId": "https://app.circleci.com//workflow/w-1/job/j-1"}
  }
}`

// circleciCert is what Fulcio's circleci-job template writes for that job.
func circleciCert() certificate.Summary {
	san := "https://circleci.com/api/v2/projects/p-1/pipeline-definitions/d-1"
	return certificate.Summary{SubjectAlternativeName: san, Extensions: certificate.Extensions{
		Issuer: "https://oidc.circleci.com/org/o-1", BuildSignerURI: san, BuildConfigURI: "https://circleci.com/api/v2/pipeline/pl-1/config",
		RunInvocationURI: "https://app.circleci.com//workflow/w-1/job/j-1", RunnerEnvironment: `""`,
		SourceRepositoryURI: "github.com/acme/app", SourceRepositoryRef: "refs/heads/main",
	}}
}

func TestCheckCIBuildTypesAccept(t *testing.T) {
	noVCS := circleciCert()
	noVCS.SourceRepositoryURI, noVCS.SourceRepositoryRef = "", ""
	webhook := strings.Replace(strings.Replace(circleciPredicate, `"ref": "refs/heads/main", `, "", 1), `,
    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}]`, "", 1)
	for _, tc := range []struct {
		name, pred string
		cert       certificate.Summary
	}{
		{"buildkite", buildkitePredicate, buildkiteCert()},
		{"circleci", circleciPredicate, circleciCert()},
		{"circleci custom webhook: no repository", webhook, noVCS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPredicate(ProvenanceType, ProvenanceType, json.RawMessage(tc.pred), tc.cert); err != nil {
				t.Errorf("CheckPredicate: %v", err)
			}
		})
	}
}

// TestCheckCIBuildTypesMismatch: every field the certificate asserts is
// checked, one certificate field changed at a time.
func TestCheckCIBuildTypesMismatch(t *testing.T) {
	for _, tc := range []struct {
		name, pred, field string
		cert              func() certificate.Summary
		change            func(*certificate.Summary)
	}{
		{"buildkite pipeline", buildkitePredicate, "externalParameters (organization, pipeline)", buildkiteCert, func(c *certificate.Summary) {
			c.SubjectAlternativeName = "https://buildkite.com/acme/other"
			c.RunInvocationURI = "https://buildkite.com/acme/other/builds/1.234567e+06#job-1"
		}},
		{"buildkite organization", buildkitePredicate, "externalParameters (organization, pipeline)", buildkiteCert, func(c *certificate.Summary) {
			c.SubjectAlternativeName = "https://buildkite.com/evil/app"
		}},
		{"buildkite run", buildkitePredicate, "runDetails.metadata.invocationId", buildkiteCert, func(c *certificate.Summary) {
			c.RunInvocationURI = "https://buildkite.com/acme/app/builds/1.234568e+06#job-1"
		}},
		{"buildkite job id", buildkitePredicate, "internalParameters.buildkite (build_number, job_id)", buildkiteCert, func(c *certificate.Summary) {
			c.RunInvocationURI = "https://buildkite.com/acme/app/builds/1.234567e+06#job-2"
		}},
		{"buildkite commit", buildkitePredicate, "digest.gitCommit", buildkiteCert, func(c *certificate.Summary) { c.SourceRepositoryDigest = "0000" }},
		{"buildkite source", buildkitePredicate, "internalParameters.buildkite.build_source", buildkiteCert, func(c *certificate.Summary) { c.BuildTrigger = "api" }},
		{"buildkite runner", buildkitePredicate, "internalParameters.buildkite.runner_environment", buildkiteCert, func(c *certificate.Summary) { c.RunnerEnvironment = "self-hosted" }},
		{"circleci signer", circleciPredicate, "runDetails.builder.id", circleciCert, func(c *certificate.Summary) {
			c.BuildSignerURI = "https://circleci.com/api/v2/projects/p-1/pipeline-definitions/d-2"
		}},
		{"circleci definition", circleciPredicate, "externalParameters (project, pipelineDefinition)", circleciCert, func(c *certificate.Summary) {
			c.SubjectAlternativeName = "https://circleci.com/api/v2/projects/p-2/pipeline-definitions/d-1"
		}},
		{"circleci pipeline", circleciPredicate, "internalParameters.circleci.pipeline_id", circleciCert, func(c *certificate.Summary) {
			c.BuildConfigURI = "https://circleci.com/api/v2/pipeline/pl-2/config"
		}},
		{"circleci job", circleciPredicate, "internalParameters.circleci (workflow_id, job_id)", circleciCert, func(c *certificate.Summary) {
			c.RunInvocationURI = "https://app.circleci.com//workflow/w-1/job/j-2"
		}},
		{"circleci ref", circleciPredicate, "externalParameters.ref", circleciCert, func(c *certificate.Summary) { c.SourceRepositoryRef = "refs/tags/v1" }},
		{"circleci repository", circleciPredicate, "resolvedDependencies[0].uri repository", circleciCert, func(c *certificate.Summary) { c.SourceRepositoryURI = "github.com/evil/app" }},
		{"circleci cert of another platform", circleciPredicate, "runDetails.builder.id", circleciCert, func(c *certificate.Summary) { *c = buildkiteCert() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.cert()
			tc.change(&cert)
			err := CheckPredicate(ProvenanceType, ProvenanceType, json.RawMessage(tc.pred), cert)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("CheckPredicate = %v, want a refusal naming %s", err, tc.field)
			}
		})
	}
}

func TestCertifiedNumber(t *testing.T) {
	for _, tc := range []struct{ url, number, want string }{
		{"https://bk/o/p/builds/1.234567e+06#j", "1234567", "1.234567e+06"},
		{"https://bk/o/p/builds/42#j", "42", "42"},
		{"https://bk/o/p/builds/43#j", "42", "42"},
		{"https://bk/o/p#j", "42", "42"},
	} {
		if got := certifiedNumber(tc.url, tc.number); got != tc.want {
			t.Errorf("certifiedNumber(%s, %s) = %s, want %s", tc.url, tc.number, got, tc.want)
		}
	}
}
