package oidcissuer

import (
	"fmt"
	"strings"
)

// Kind names one of the token shapes the issuer mints.
type Kind string

// The token kinds, each served as its own issuer under /<kind>.
const (
	GitHub     Kind = "github"
	GitLab     Kind = "gitlab"
	Kubernetes Kind = "kubernetes"
	Buildkite  Kind = "buildkite"
	CircleCI   Kind = "circleci"
)

// Kinds lists every kind the issuer serves.
var Kinds = []Kind{GitHub, GitLab, Kubernetes, Buildkite, CircleCI}

func (k Kind) valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Default values of the minted tokens. Tests that override repository/ref
// (GitHub), project_path/ref (GitLab), sub (Kubernetes), the slugs,
// branch, commit or step (Buildkite) or the vcs claims (CircleCI) get the
// dependent claims derived from the override unless they override those too.
const (
	DefaultGitHubRepository = "keyless-dev/demo"
	DefaultGitHubWorkflow   = ".github/workflows/release.yml"
	DefaultGitLabProject    = "keyless-dev/demo"
	DefaultNamespace        = "keyless"
	DefaultServiceAccount   = "signer"
	DefaultBuildkiteOrg     = "keyless-dev"
	DefaultBuildkitePipe    = "demo"
	DefaultBuildkiteJob     = "0190a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
	DefaultBuildkiteAgent   = "0190a2b4-6d7e-4f80-9a1b-2c3d4e5f6a7b"
	DefaultCircleCIOrg      = "0c5e7a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6"
	DefaultCircleCIPipeline = "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e"
	DefaultCircleCIWorkflow = "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f"
	DefaultCircleCIJob      = "9d0e1f2a-3b4c-4d5e-9f6a-7b8c9d0e1f2a"
	// DefaultSHA is the commit of every kind's default token.
	DefaultSHA             = defaultSHA
	DefaultCircleCIProject = "5f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0"
	DefaultCircleCIDef     = "6a7b8c9d-0e1f-4a2b-c3d4-e5f6a7b8c9d0"
	defaultSHA             = "4c4e3b1a9d0f5e6a7b8c9d0e1f2a3b4c5d6e7f80"
)

func str(overrides map[string]any, key, def string) string {
	if v, ok := overrides[key].(string); ok && v != "" {
		return v
	}
	return def
}

// kindClaims returns the kind-specific default claims (without iss, aud and
// the time claims), derived from the overrides where that keeps them
// consistent.
func kindClaims(kind Kind, overrides map[string]any) map[string]any {
	switch kind {
	case GitHub:
		return githubClaims(overrides)
	case GitLab:
		return gitlabClaims(overrides)
	case Buildkite:
		return buildkiteClaims(overrides)
	case CircleCI:
		return circleciClaims(overrides)
	default:
		return kubernetesClaims(overrides)
	}
}

func githubClaims(o map[string]any) map[string]any {
	repo := str(o, "repository", DefaultGitHubRepository)
	ref := str(o, "ref", "refs/heads/main")
	owner, _, _ := strings.Cut(repo, "/")
	workflowRef := repo + "/" + DefaultGitHubWorkflow + "@" + ref
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	return map[string]any{
		"sub":                   "repo:" + repo + ":ref:" + ref,
		"job_workflow_ref":      workflowRef,
		"job_workflow_sha":      defaultSHA,
		"sha":                   defaultSHA,
		"event_name":            "push",
		"repository":            repo,
		"repository_id":         "700000001",
		"repository_owner":      owner,
		"repository_owner_id":   "700000002",
		"repository_visibility": "public",
		"workflow":              "release",
		"workflow_ref":          workflowRef,
		"workflow_sha":          defaultSHA,
		"ref":                   ref,
		"ref_type":              refType,
		"ref_protected":         "true",
		"run_id":                "1234567890",
		"run_number":            "42",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"actor":                 "keyless-bot",
		"actor_id":              "700000003",
		"head_ref":              "",
		"base_ref":              "",
	}
}

func gitlabClaims(o map[string]any) map[string]any {
	project := str(o, "project_path", DefaultGitLabProject)
	ref := str(o, "ref", "main")
	refType := str(o, "ref_type", "branch")
	namespace := project
	if i := strings.LastIndex(project, "/"); i >= 0 {
		namespace = project[:i]
	}
	refPath := "refs/heads/" + ref
	if refType == "tag" {
		refPath = "refs/tags/" + ref
	}
	return map[string]any{
		"sub":                fmt.Sprintf("project_path:%s:ref_type:%s:ref:%s", project, refType, ref),
		"namespace_id":       "800000001",
		"namespace_path":     namespace,
		"project_id":         "800000002",
		"project_path":       project,
		"user_id":            "800000003",
		"user_login":         "keyless-bot",
		"user_email":         "bot@keyless.dev",
		"user_access_level":  "developer",
		"pipeline_id":        "800000004",
		"pipeline_source":    "push",
		"job_id":             "800000005",
		"ref":                ref,
		"ref_type":           refType,
		"ref_path":           refPath,
		"ref_protected":      "true",
		"runner_id":          800000006,
		"runner_environment": "gitlab-hosted",
		"sha":                defaultSHA,
		"project_visibility": "public",
		"ci_config_ref_uri":  "gitlab.com/" + project + "//.gitlab-ci.yml@" + refPath,
		"ci_config_sha":      defaultSHA,
		"job_project_path":   project,
		"job_namespace_path": namespace,
	}
}

func kubernetesClaims(o map[string]any) map[string]any {
	ns, sa := DefaultNamespace, DefaultServiceAccount
	if sub, ok := o["sub"].(string); ok {
		if parts := strings.Split(sub, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
			ns, sa = parts[2], parts[3]
		}
	}
	return map[string]any{
		"sub": "system:serviceaccount:" + ns + ":" + sa,
		"kubernetes.io": map[string]any{
			"namespace": ns,
			"pod": map[string]any{
				"name": sa + "-7d9f8b6c5d-x2x4q",
				"uid":  "6f1c2e8a-0d4b-4c3e-9a51-2b7f0e9d1c11",
			},
			"serviceaccount": map[string]any{
				"name": sa,
				"uid":  "0b5e7c3d-9f2a-4e61-8c7d-3a1f5b9e2d22",
			},
		},
	}
}

// buildkiteClaims are a Buildkite job's token claims, with the claim names
// buildkite-agent oidc request-token's tokens carry: the build number a
// number, no build_tag in a branch build.
func buildkiteClaims(o map[string]any) map[string]any {
	org, pipeline := str(o, "organization_slug", DefaultBuildkiteOrg), str(o, "pipeline_slug", DefaultBuildkitePipe)
	branch, commit, step := str(o, "build_branch", "main"), str(o, "build_commit", defaultSHA), str(o, "step_key", "sign")
	ref := "refs/heads/" + branch
	if tag := str(o, "build_tag", ""); tag != "" {
		ref = "refs/tags/" + tag
	}
	return map[string]any{
		"sub":                fmt.Sprintf("organization:%s:pipeline:%s:ref:%s:commit:%s:step:%s", org, pipeline, ref, commit, step),
		"organization_slug":  org,
		"pipeline_slug":      pipeline,
		"build_number":       42,
		"build_branch":       branch,
		"build_commit":       commit,
		"step_key":           step,
		"job_id":             DefaultBuildkiteJob,
		"agent_id":           DefaultBuildkiteAgent,
		"build_source":       "webhook",
		"runner_environment": "buildkite-hosted",
	}
}

// circleciClaims are a CircleCI job's token claims, as circleci run oidc
// get issues them (the sub of CIRCLE_OIDC_TOKEN_V2), under the claim names
// Fulcio's circleci-job template reads.
func circleciClaims(o map[string]any) map[string]any {
	origin, ref := str(o, "oidc.circleci.com/vcs-origin", "github.com/keyless-dev/demo"), str(o, "oidc.circleci.com/vcs-ref", "refs/heads/main")
	project := str(o, "oidc.circleci.com/project-id", DefaultCircleCIProject)
	const user = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
	return map[string]any{
		"sub":                          fmt.Sprintf("org/%s/project/%s/user/%s/vcs-origin/%s/vcs-ref/%s", DefaultCircleCIOrg, project, user, origin, ref),
		"oidc.circleci.com/org-id":     DefaultCircleCIOrg,
		"oidc.circleci.com/project-id": project,
		"oidc.circleci.com/pipeline-definition-id": DefaultCircleCIDef,
		"oidc.circleci.com/pipeline-id":            DefaultCircleCIPipeline,
		"oidc.circleci.com/workflow-id":            DefaultCircleCIWorkflow,
		"oidc.circleci.com/job-id":                 DefaultCircleCIJob,
		"oidc.circleci.com/context-ids":            []any{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
		"oidc.circleci.com/vcs-origin":             origin,
		"oidc.circleci.com/vcs-ref":                ref,
		"oidc.circleci.com/ssh-rerun":              false,
	}
}
