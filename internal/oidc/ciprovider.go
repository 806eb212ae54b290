package oidc

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Buildkite and CircleCI tokens are certified by Fulcio's generic
// ci-provider issuer type, which expands text/template templates over the
// token's claims merged over the provider's default values (public-good's
// config/identity/config.yaml, ci-issuer-metadata buildkite-job and
// circleci-job). This file mirrors those templates, value for value.

// buildkiteDefaults are the buildkite-job default template values.
var buildkiteDefaults = map[string]string{"url": "https://buildkite.com"}

// circleciDefaults are the circleci-job default template values. Fulcio
// joins platform_url, which ends in a slash, to "/workflow/…": the
// certified run URL has two slashes there.
var circleciDefaults = map[string]string{"api_url": "https://circleci.com/api/v2", "platform_url": "https://app.circleci.com/"}

// The CircleCI claims the circleci-job templates read, which provenance
// states too.
const (
	CircleProjectClaim    = "oidc.circleci.com/project-id"
	CircleDefinitionClaim = "oidc.circleci.com/pipeline-definition-id"
	CirclePipelineClaim   = "oidc.circleci.com/pipeline-id"
	CircleWorkflowClaim   = "oidc.circleci.com/workflow-id"
	CircleJobClaim        = "oidc.circleci.com/job-id"
	CircleOriginClaim     = "oidc.circleci.com/vcs-origin"
	CircleRefClaim        = "oidc.circleci.com/vcs-ref"
	circleSSHRerun        = "oidc.circleci.com/ssh-rerun"
)

// buildkiteClaims are the claims the buildkite-job templates need: Fulcio
// refuses a token without one of them (missingkey=error, or a claim name
// that is neither a claim nor a default).
var buildkiteClaims = []string{"organization_slug", "pipeline_slug", "build_number", "job_id", "runner_environment", "build_commit", "build_source"}

// ciValues are a token's claims as the ci-provider templates see them:
// the provider's defaults, overridden by the claims, each written as
// Fulcio writes a claim (fulcioValue).
type ciValues map[string]string

func (t *Token) ciValues(defaults map[string]string) ciValues {
	v := ciValues{}
	for k, d := range defaults {
		v[k] = d
	}
	for k, c := range t.Claims {
		v[k] = fulcioValue(c)
	}
	return v
}

// fulcioValue is a claim written as Fulcio's ci-provider type writes it
// (mapValuesToString, over claims decoded as encoding/json decodes them):
// a whole number as %v of a float64, so 1234567 is "1.234567e+06"; another
// number in its shortest decimal form; anything else as %v.
func fulcioValue(c any) string {
	if n, ok := c.(json.Number); ok {
		f, err := n.Float64()
		if err != nil {
			return n.String()
		}
		c = f
	}
	if f, ok := c.(float64); ok {
		if f == math.Trunc(f) {
			return fmt.Sprintf("%v", math.Trunc(f))
		}
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprintf("%v", c)
}

// require returns a PreflightError naming the first of names that t does
// not carry (absent, null or empty), or nil.
func (t *Token) require(platform, fix string, names ...string) error {
	for _, n := range names {
		if v, ok := t.Claims[n]; !ok || v == nil || v == "" {
			return &PreflightError{Reason: fmt.Sprintf("%s token has no %s claim, which Fulcio needs for the certificate", platform, n), Fix: fix}
		}
	}
	return nil
}

const (
	buildkiteFix = "request the token in the job with buildkite-agent oidc request-token --audience sigstore"
	circleciFix  = `request the token in the job with circleci run oidc get --claims '{"aud":"sigstore"}' (the job must use a context)`
)

// buildkiteSAN is the buildkite-job subject alternative name,
// {{.url}}/{{.organization_slug}}/{{.pipeline_slug}}.
func (t *Token) buildkiteSAN() (string, error) {
	if err := t.require("Buildkite", buildkiteFix, "organization_slug", "pipeline_slug"); err != nil {
		return "", err
	}
	v := t.ciValues(buildkiteDefaults)
	return v["url"] + "/" + v["organization_slug"] + "/" + v["pipeline_slug"], nil
}

// circleciSAN is the circleci-job subject alternative name, the pipeline
// definition: {{.api_url}}/projects/<project-id>/pipeline-definitions/<pipeline-definition-id>.
// Fulcio's template reads the two claims with index, which makes a
// missing one empty; keyless refuses such a token, whose identity would
// name no pipeline.
func (t *Token) circleciSAN() (string, error) {
	if err := t.require("CircleCI", circleciFix, CircleProjectClaim, CircleDefinitionClaim); err != nil {
		return "", err
	}
	v := t.ciValues(circleciDefaults)
	return v["api_url"] + "/projects/" + v[CircleProjectClaim] + "/pipeline-definitions/" + v[CircleDefinitionClaim], nil
}

// buildkiteCertified fills in what the buildkite-job templates certify:
// the job's URL, the runner environment, the build's commit and what
// started the build.
func (t *Token) buildkiteCertified(s *certificate.Summary) error {
	if err := t.require("Buildkite", buildkiteFix, buildkiteClaims...); err != nil {
		return err
	}
	v := t.ciValues(buildkiteDefaults)
	s.RunInvocationURI = v["url"] + "/" + v["organization_slug"] + "/" + v["pipeline_slug"] + "/builds/" + v["build_number"] + "#" + v["job_id"]
	s.RunnerEnvironment = v["runner_environment"]
	s.SourceRepositoryDigest = v["build_commit"]
	s.BuildTrigger = v["build_source"]
	return nil
}

// circleciCertified fills in what the circleci-job templates certify. A
// claim the templates read with index and the token lacks is empty there,
// as in Fulcio; the runner environment is "ssh-rerun" for a job rerun
// with SSH, else the two characters "" that the template writes.
func (t *Token) circleciCertified(s *certificate.Summary) {
	v := t.ciValues(circleciDefaults)
	s.BuildConfigURI = v["api_url"] + "/pipeline/" + v[CirclePipelineClaim] + "/config"
	s.BuildSignerURI = s.SubjectAlternativeName
	s.RunInvocationURI = v["platform_url"] + "/workflow/" + v[CircleWorkflowClaim] + "/job/" + v[CircleJobClaim]
	s.RunnerEnvironment = `""`
	if v[circleSSHRerun] == "true" {
		s.RunnerEnvironment = "ssh-rerun"
	}
	s.SourceRepositoryRef = v[CircleRefClaim]
	s.SourceRepositoryURI = v[CircleOriginClaim]
}
