package oidc

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// githubRun and gitlabJob are the claims of a GitHub workflow run's and a
// GitLab job's token, with every claim Fulcio requires.
var (
	githubRun = map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:octo/app:ref:refs/heads/main",
		"job_workflow_ref": "octo/shared/.github/workflows/sign.yml@refs/tags/v2", "job_workflow_sha": "1111111111111111111111111111111111111111",
		"repository": "octo/app", "repository_owner": "octo", "repository_id": "123", "repository_owner_id": "456", "repository_visibility": "private",
		"workflow": "release", "workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main", "workflow_sha": "2222222222222222222222222222222222222222",
		"ref": "refs/heads/main", "sha": "0123456789abcdef0123456789abcdef01234567", "event_name": "push",
		"run_id": "789", "run_attempt": "2", "runner_environment": "github-hosted",
	}
	gitlabJob = map[string]any{
		"iss": "https://gitlab.com", "sub": "project_path:grp/app:ref_type:branch:ref:main",
		"project_path": "grp/app", "project_id": "11", "namespace_path": "grp", "namespace_id": "22", "project_visibility": "internal",
		"ref": "main", "ref_type": "branch", "sha": "89abcdef0123456789abcdef0123456789abcdef",
		"ci_config_ref_uri": "gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main", "ci_config_sha": "3333333333333333333333333333333333333333",
		"pipeline_source": "push", "pipeline_id": "33", "job_id": "44", "runner_environment": "gitlab-hosted", "runner_id": 5,
	}
)

func withClaims(base map[string]any, kv map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range kv {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// TestCertified: the certificate that Fulcio's issuer types make of each
// kind of token, extension for extension (the values Fulcio's
// github-workflow and gitlab-pipeline types write for the same claims).
func TestCertified(t *testing.T) {
	githubCert := certificate.Summary{
		SubjectAlternativeName: "https://github.com/octo/shared/.github/workflows/sign.yml@refs/tags/v2",
		Extensions: certificate.Extensions{
			Issuer:                "https://token.actions.githubusercontent.com",
			GithubWorkflowTrigger: "push", GithubWorkflowSHA: "0123456789abcdef0123456789abcdef01234567", GithubWorkflowName: "release",
			GithubWorkflowRepository: "octo/app", GithubWorkflowRef: "refs/heads/main",
			BuildSignerURI:    "https://github.com/octo/shared/.github/workflows/sign.yml@refs/tags/v2",
			BuildSignerDigest: "1111111111111111111111111111111111111111", RunnerEnvironment: "github-hosted",
			SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
			SourceRepositoryRef: "refs/heads/main", SourceRepositoryIdentifier: "123",
			SourceRepositoryOwnerURI: "https://github.com/octo", SourceRepositoryOwnerIdentifier: "456",
			BuildConfigURI:    "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			BuildConfigDigest: "2222222222222222222222222222222222222222", BuildTrigger: "push",
			RunInvocationURI:                    "https://github.com/octo/app/actions/runs/789/attempts/2",
			SourceRepositoryVisibilityAtSigning: "private",
		},
	}
	gitlabCert := certificate.Summary{
		SubjectAlternativeName: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main",
		Extensions: certificate.Extensions{
			Issuer:         "https://gitlab.com",
			BuildConfigURI: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main", BuildConfigDigest: "3333333333333333333333333333333333333333",
			BuildSignerURI: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main", BuildSignerDigest: "3333333333333333333333333333333333333333",
			RunnerEnvironment:   "gitlab-hosted",
			SourceRepositoryURI: "https://gitlab.com/grp/app", SourceRepositoryDigest: "89abcdef0123456789abcdef0123456789abcdef",
			SourceRepositoryRef: "refs/heads/main", SourceRepositoryIdentifier: "11",
			SourceRepositoryOwnerURI: "https://gitlab.com/grp", SourceRepositoryOwnerIdentifier: "22",
			BuildTrigger: "push", RunInvocationURI: "https://gitlab.com/grp/app/-/jobs/44",
			SourceRepositoryVisibilityAtSigning: "internal",
		},
	}
	with := func(s certificate.Summary, f func(*certificate.Summary)) certificate.Summary { f(&s); return s }
	const hostile = "refs/heads/x\n\"y z"
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   certificate.Summary
	}{
		{"github", githubRun, githubCert},
		{"github hostile ref: URIs escaped as Fulcio joins them", withClaims(githubRun, map[string]any{
			"ref": hostile, "workflow_ref": "octo/app/.github/workflows/release.yml@" + hostile,
		}), with(githubCert, func(s *certificate.Summary) {
			s.GithubWorkflowRef, s.SourceRepositoryRef = hostile, hostile
			s.BuildConfigURI = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/x%0A%22y%20z"
		})},
		{"gitlab", gitlabJob, gitlabCert},
		{"gitlab tag", withClaims(gitlabJob, map[string]any{"ref": "v1.0", "ref_type": "tag", "ci_config_ref_uri": "gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0"}),
			with(gitlabCert, func(s *certificate.Summary) {
				s.SubjectAlternativeName = "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0"
				s.BuildConfigURI, s.BuildSignerURI, s.SourceRepositoryRef = s.SubjectAlternativeName, s.SubjectAlternativeName, "refs/tags/v1.0"
			})},
		{"gitlab instance under a path", withClaims(gitlabJob, map[string]any{"iss": "https://example.com/gitlab", "ci_config_ref_uri": "example.com/gitlab/grp/app//.gitlab-ci.yml@refs/heads/main"}),
			with(gitlabCert, func(s *certificate.Summary) {
				s.Issuer, s.SubjectAlternativeName = "https://example.com/gitlab", "https://example.com/gitlab/grp/app//.gitlab-ci.yml@refs/heads/main"
				s.BuildConfigURI, s.BuildSignerURI = s.SubjectAlternativeName, s.SubjectAlternativeName
				s.SourceRepositoryURI, s.SourceRepositoryOwnerURI = "https://example.com/gitlab/grp/app", "https://example.com/gitlab/grp"
				s.RunInvocationURI = "https://example.com/gitlab/grp/app/-/jobs/44"
			})},
		{"kubernetes: the service account only", map[string]any{"iss": "https://k8s.example", "kubernetes.io": map[string]any{"namespace": "ci", "serviceaccount": map[string]any{"name": "sa"}}},
			certificate.Summary{SubjectAlternativeName: "https://kubernetes.io/namespaces/ci/serviceaccounts/sa", Extensions: certificate.Extensions{Issuer: "https://k8s.example"}}},
		{"generic: the subject only", map[string]any{"iss": "https://issuer.example", "sub": "ci"},
			certificate.Summary{SubjectAlternativeName: "ci", Extensions: certificate.Extensions{Issuer: "https://issuer.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustParse(t, tc.claims).Certified()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Certified mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCertifiedErrors: a token that lacks a claim Fulcio requires, or
// holds one it refuses, is a PreflightError naming the claim.
func TestCertifiedErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"github without sha", withClaims(githubRun, map[string]any{"sha": nil}), "GitHub token has no sha claim"},
		{"github without run_attempt", withClaims(githubRun, map[string]any{"run_attempt": nil}), "GitHub token has no run_attempt claim"},
		{"gitlab without job_id", withClaims(gitlabJob, map[string]any{"job_id": nil}), "GitLab token has no job_id claim"},
		{"gitlab ref_type of neither branch nor tag", withClaims(gitlabJob, map[string]any{"ref_type": "merge_request"}), `ref_type "merge_request"`},
		{"gitlab null ci_config_ref_uri", withClaims(gitlabJob, map[string]any{"ci_config_ref_uri": nil}), "ci_config_ref_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustParse(t, tc.claims).Certified()
			var pe *PreflightError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Certified() error = %v, want a PreflightError with %q", err, tc.want)
			}
		})
	}
}
