package oidc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// githubClaims are the claims Fulcio's github-workflow issuer type
// requires of a token, in the order it asks for them.
var githubClaims = []string{
	"job_workflow_ref", "sha", "event_name", "repository", "workflow", "ref", "job_workflow_sha", "runner_environment",
	"repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "workflow_ref", "workflow_sha",
	"run_id", "run_attempt",
}

// gitlabClaims are the claims Fulcio's gitlab-pipeline issuer type
// requires of a token.
var gitlabClaims = []string{
	"project_path", "pipeline_source", "pipeline_id", "ci_config_ref_uri", "job_id", "ref", "ref_type",
	"namespace_path", "namespace_id", "project_id", "sha", "runner_environment", "runner_id",
}

// Certified returns what a Fulcio certificate issued for t asserts: its
// subject alternative name and issuer and, for GitHub, GitLab, Buildkite
// and CircleCI tokens, the build's extensions, mapped from t's claims the
// way Fulcio's github-workflow and gitlab-pipeline issuer types and its
// ci-provider templates buildkite-job and circleci-job (ciprovider.go) map
// them. It is what
// keyless checks its own provenance against before signing, with the
// check the verify gate runs on the certificate.
//
// A GitHub token's repositories are certified under https://github.com.
// A GitLab token's are under the instance that its ci_config_ref_uri
// claim names (gitlab.com for public-good Fulcio). Kubernetes and other
// tokens certify only the issuer and the service account or subject:
// their claims name no build.
//
// A claim that Fulcio requires and t lacks is a PreflightError naming it.
func (t *Token) Certified() (certificate.Summary, error) {
	id, err := t.Identity()
	if err != nil {
		return certificate.Summary{}, err
	}
	s := certificate.Summary{SubjectAlternativeName: id.SAN, Extensions: certificate.Extensions{Issuer: t.Issuer}}
	switch id.Kind {
	case GitHub:
		c, err := t.required(githubClaims, "GitHub", "request the token from the Actions runner (permissions: id-token: write)")
		if err != nil {
			return s, err
		}
		join := joiner(GitHubServer + "/")
		s.GithubWorkflowTrigger, s.GithubWorkflowSHA, s.GithubWorkflowName = c["event_name"], c["sha"], c["workflow"]
		s.GithubWorkflowRepository, s.GithubWorkflowRef = c["repository"], c["ref"]
		s.BuildSignerURI, s.BuildSignerDigest = join(c["job_workflow_ref"]), c["job_workflow_sha"]
		s.RunnerEnvironment = c["runner_environment"]
		s.SourceRepositoryURI, s.SourceRepositoryDigest, s.SourceRepositoryRef = join(c["repository"]), c["sha"], c["ref"]
		s.SourceRepositoryIdentifier = c["repository_id"]
		s.SourceRepositoryOwnerURI, s.SourceRepositoryOwnerIdentifier = join(c["repository_owner"]), c["repository_owner_id"]
		s.BuildConfigURI, s.BuildConfigDigest = join(c["workflow_ref"]), c["workflow_sha"]
		s.BuildTrigger = c["event_name"]
		s.RunInvocationURI = join(c["repository"], "actions/runs", c["run_id"], "attempts", c["run_attempt"])
		s.SourceRepositoryVisibilityAtSigning = c["repository_visibility"]
	case GitLab:
		c, err := t.required(gitlabClaims, "GitLab", "sign with the job's id_tokens token (SIGSTORE_ID_TOKEN, aud: sigstore)")
		if err != nil {
			return s, err
		}
		var ref string
		switch c["ref_type"] {
		case "branch":
			ref = "refs/heads/" + c["ref"]
		case "tag":
			ref = "refs/tags/" + c["ref"]
		default:
			return s, &PreflightError{Reason: fmt.Sprintf("GitLab token has ref_type %q, neither branch nor tag, which Fulcio refuses", c["ref_type"]), Fix: "sign in a branch or tag pipeline"}
		}
		config, err := url.Parse(c["ci_config_ref_uri"])
		if err != nil {
			return s, &PreflightError{Reason: fmt.Sprintf("GitLab token's ci_config_ref_uri claim %q does not parse as Fulcio reads it: %v", c["ci_config_ref_uri"], err), Fix: "sign in a pipeline of a project on a GitLab instance that Fulcio trusts"}
		}
		config.Scheme = "https"
		configSHA, _ := t.Claim("ci_config_sha")
		join := joiner(gitlabServer(c["ci_config_ref_uri"], c["project_path"]) + "/")
		s.BuildConfigURI, s.BuildConfigDigest = config.String(), configSHA
		s.BuildSignerURI, s.BuildSignerDigest = config.String(), configSHA
		s.RunnerEnvironment = c["runner_environment"]
		s.SourceRepositoryURI, s.SourceRepositoryDigest, s.SourceRepositoryRef = join(c["project_path"]), c["sha"], ref
		s.SourceRepositoryIdentifier = c["project_id"]
		s.SourceRepositoryOwnerURI, s.SourceRepositoryOwnerIdentifier = join(c["namespace_path"]), c["namespace_id"]
		s.BuildTrigger = c["pipeline_source"]
		s.RunInvocationURI = join(c["project_path"], "/-/jobs/", c["job_id"])
		s.SourceRepositoryVisibilityAtSigning, _ = t.Claim("project_visibility")
	case Buildkite:
		if err := t.buildkiteCertified(&s); err != nil {
			return s, err
		}
	case CircleCI:
		t.circleciCertified(&s)
	}
	return s, nil
}

// gitlabServer is the URL of the GitLab instance that a ci_config_ref_uri
// claim (<host>/<project>//<path>@<ref>) of a pipeline of project names:
// everything before /<project>//, or the host when the configuration is
// another project's.
func gitlabServer(configRefURI, project string) string {
	uri := strings.TrimPrefix(configRefURI, "https://")
	if i := strings.Index(uri, "/"+project+"//"); i > 0 {
		return "https://" + uri[:i]
	}
	host, _, _ := strings.Cut(uri, "/")
	return "https://" + host
}

// GitHubServer is the URL under which Fulcio's github-workflow issuer
// type certifies every GitHub repository and workflow.
const GitHubServer = "https://github.com"

// joiner joins path elements to base as Fulcio does (url.JoinPath: the
// path cleaned and escaped).
func joiner(base string) func(elem ...string) string {
	return func(elem ...string) string {
		u, err := url.Parse(base)
		if err != nil {
			return ""
		}
		return u.JoinPath(elem...).String()
	}
}

// required returns the named claims, or a PreflightError naming the first
// one t lacks.
func (t *Token) required(names []string, platform, fix string) (map[string]string, error) {
	c := map[string]string{}
	for _, n := range names {
		v, ok := t.Claim(n)
		if !ok {
			return nil, &PreflightError{Reason: fmt.Sprintf("%s token has no %s claim, which Fulcio requires to certify the build", platform, n), Fix: fix}
		}
		c[n] = v
	}
	return c, nil
}
