package oidc

import (
	"fmt"
	"strings"
)

// Kind names the kind of issuer a token comes from, by the shape of its
// claims.
type Kind string

// The kinds of token whose shape keyless knows.
const (
	GitHub     Kind = "github"
	GitLab     Kind = "gitlab"
	Buildkite  Kind = "buildkite"
	CircleCI   Kind = "circleci"
	Kubernetes Kind = "kubernetes"
	Generic    Kind = "generic"
)

// Identity is what a Fulcio certificate issued for a token names: the issuer
// and the subject alternative name.
type Identity struct {
	// Kind is the kind of token the identity was derived from.
	Kind Kind `json:"kind"`
	// Issuer is the OIDC issuer, as Fulcio writes it in the certificate.
	Issuer string `json:"issuer"`
	// SAN is the certificate's subject alternative name.
	SAN string `json:"san"`
}

// The issuers of Buildkite's and CircleCI's tokens: one for every
// Buildkite organization, and one per CircleCI organization under
// CircleCIIssuer (…/org/<organization id>).
const (
	BuildkiteIssuer = "https://agent.buildkite.com"
	CircleCIIssuer  = "https://oidc.circleci.com"
)

// Kind returns the kind of token t is, from the claims it carries, or
// from its issuer where that is a CI system's own.
func (t *Token) Kind() Kind {
	switch {
	case t.has("job_workflow_ref") || t.has("runner_environment") && t.has("workflow_ref"):
		return GitHub
	case t.has("ci_config_ref_uri") || t.has("project_path") && t.has("pipeline_source"):
		return GitLab
	case t.has("organization_slug") && t.has("pipeline_slug") || t.Issuer == BuildkiteIssuer:
		return Buildkite
	case t.has(CircleProjectClaim) || strings.HasPrefix(t.Issuer, CircleCIIssuer+"/"):
		return CircleCI
	case t.has("kubernetes.io"):
		return Kubernetes
	}
	return Generic
}

func (t *Token) has(name string) bool {
	_, ok := t.Claims[name]
	return ok
}

// Identity derives the identity Fulcio will certify for t, the same way
// Fulcio's issuer types do: github-workflow from job_workflow_ref (the called
// workflow, for reusable workflows), gitlab-pipeline from ci_config_ref_uri,
// the ci-provider types buildkite-job (the pipeline) and circleci-job (the
// pipeline definition) from their templates, kubernetes from the service
// account, and otherwise the email or subject.
func (t *Token) Identity() (Identity, error) {
	id := Identity{Kind: t.Kind(), Issuer: t.Issuer}
	switch id.Kind {
	case GitHub:
		ref, ok := t.Claim("job_workflow_ref")
		if !ok {
			return id, &PreflightError{
				Reason: "GitHub token has no job_workflow_ref claim",
				Fix:    "request the token from the Actions runner (permissions: id-token: write), not from a personal access token",
			}
		}
		id.SAN = GitHubServer + "/" + ref
	case GitLab:
		uri, ok := t.Claim("ci_config_ref_uri")
		if !ok {
			return id, &PreflightError{
				Reason: "GitLab token has a null or missing ci_config_ref_uri claim, which Fulcio needs for the certificate identity",
				Fix:    "run the signing job in a pipeline whose CI configuration comes from this project's repository: not a child pipeline from an artifact, a merge request pipeline from a fork, or a configuration from another project (GitLab sets the claim to null there)",
			}
		}
		id.SAN = "https://" + strings.TrimPrefix(uri, "https://")
	case Buildkite:
		san, err := t.buildkiteSAN()
		if err != nil {
			return id, err
		}
		id.SAN = san
	case CircleCI:
		san, err := t.circleciSAN()
		if err != nil {
			return id, err
		}
		id.SAN = san
	case Kubernetes:
		ns, name := t.ServiceAccount()
		if ns == "" || name == "" {
			return id, &PreflightError{
				Reason: "Kubernetes token has no namespace or service account in its kubernetes.io claim",
				Fix:    "use a projected service account token (volume projection serviceAccountToken with audience sigstore)",
			}
		}
		id.SAN = fmt.Sprintf("https://kubernetes.io/namespaces/%s/serviceaccounts/%s", ns, name)
	default:
		if email, ok := t.Claim("email"); ok {
			id.SAN = email
		} else if t.Subject != "" {
			id.SAN = t.Subject
		} else {
			return id, &PreflightError{Reason: "token has neither an email nor a sub claim", Fix: "use a token from a CI platform's OIDC provider"}
		}
	}
	return id, nil
}

// ServiceAccount returns the namespace and the name of the service account
// that a Kubernetes token's kubernetes.io claim names, or empty strings.
func (t *Token) ServiceAccount() (namespace, name string) {
	k8s, _ := t.Claims["kubernetes.io"].(map[string]any)
	namespace, _ = k8s["namespace"].(string)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	name, _ = sa["name"].(string)
	return namespace, name
}
