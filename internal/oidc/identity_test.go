package oidc

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIdentity(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		want   Identity
	}{
		{
			name: "github",
			claims: map[string]any{
				"iss":                "https://token.actions.githubusercontent.com",
				"sub":                "repo:octo/app:ref:refs/heads/main",
				"job_workflow_ref":   "octo/app/.github/workflows/release.yml@refs/heads/main",
				"workflow_ref":       "octo/app/.github/workflows/release.yml@refs/heads/main",
				"runner_environment": "github-hosted",
			},
			want: Identity{Kind: GitHub, Issuer: "https://token.actions.githubusercontent.com", SAN: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"},
		},
		{
			name: "github reusable workflow names the called workflow",
			claims: map[string]any{
				"iss":              "https://token.actions.githubusercontent.com",
				"sub":              "repo:octo/app:ref:refs/tags/v1",
				"workflow_ref":     "octo/app/.github/workflows/ci.yml@refs/tags/v1",
				"job_workflow_ref": "octo/shared/.github/workflows/sign.yml@refs/tags/v2",
			},
			want: Identity{Kind: GitHub, Issuer: "https://token.actions.githubusercontent.com", SAN: "https://github.com/octo/shared/.github/workflows/sign.yml@refs/tags/v2"},
		},
		{
			name: "gitlab",
			claims: map[string]any{
				"iss":               "https://gitlab.com",
				"sub":               "project_path:grp/app:ref_type:branch:ref:main",
				"project_path":      "grp/app",
				"pipeline_source":   "push",
				"ci_config_ref_uri": "gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main",
			},
			want: Identity{Kind: GitLab, Issuer: "https://gitlab.com", SAN: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main"},
		},
		{
			name: "gitlab uri already with scheme",
			claims: map[string]any{
				"iss":               "https://gitlab.example",
				"ci_config_ref_uri": "https://gitlab.example/grp/app//.gitlab-ci.yml@refs/heads/main",
			},
			want: Identity{Kind: GitLab, Issuer: "https://gitlab.example", SAN: "https://gitlab.example/grp/app//.gitlab-ci.yml@refs/heads/main"},
		},
		{
			name: "kubernetes",
			claims: map[string]any{
				"iss": "https://kubernetes.default.svc.cluster.local",
				"sub": "system:serviceaccount:ci:builder",
				"kubernetes.io": map[string]any{
					"namespace":      "ci",
					"serviceaccount": map[string]any{"name": "builder", "uid": "1234"},
					"pod":            map[string]any{"name": "p", "uid": "5678"},
				},
			},
			want: Identity{Kind: Kubernetes, Issuer: "https://kubernetes.default.svc.cluster.local", SAN: "https://kubernetes.io/namespaces/ci/serviceaccounts/builder"},
		},
		{
			name:   "generic email",
			claims: map[string]any{"iss": "https://accounts.google.com", "sub": "1234567890", "email": "dev@example.com"},
			want:   Identity{Kind: Generic, Issuer: "https://accounts.google.com", SAN: "dev@example.com"},
		},
		{
			name:   "generic sub",
			claims: map[string]any{"iss": "https://issuer.example", "sub": "spiffe://example.org/builder"},
			want:   Identity{Kind: Generic, Issuer: "https://issuer.example", SAN: "spiffe://example.org/builder"},
		},
		{
			name:   "generic empty email falls back to sub",
			claims: map[string]any{"iss": "https://issuer.example", "sub": "builder", "email": ""},
			want:   Identity{Kind: Generic, Issuer: "https://issuer.example", SAN: "builder"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustParse(t, tt.claims)
			if diff := cmp.Diff(tt.want.Kind, tok.Kind()); diff != "" {
				t.Errorf("Kind mismatch (-want +got):\n%s", diff)
			}
			got, err := tok.Identity()
			if err != nil {
				t.Fatalf("Identity: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Identity mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		want   Kind
	}{
		{"job_workflow_ref alone", map[string]any{"job_workflow_ref": "a"}, GitHub},
		{"runner_environment and workflow_ref", map[string]any{"runner_environment": "github-hosted", "workflow_ref": "a"}, GitHub},
		{"workflow_ref alone is not enough", map[string]any{"workflow_ref": "a"}, Generic},
		{"ci_config_ref_uri null still gitlab", map[string]any{"ci_config_ref_uri": nil}, GitLab},
		{"project_path and pipeline_source", map[string]any{"project_path": "g/p", "pipeline_source": "push"}, GitLab},
		{"project_path alone is not enough", map[string]any{"project_path": "g/p"}, Generic},
		{"kubernetes.io", map[string]any{"kubernetes.io": map[string]any{}}, Kubernetes},
		{"nothing", map[string]any{}, Generic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.claims["iss"] = "https://issuer.example"
			if diff := cmp.Diff(tt.want, mustParse(t, tt.claims).Kind()); diff != "" {
				t.Errorf("Kind mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIdentityErrors(t *testing.T) {
	tests := []struct {
		name       string
		claims     map[string]any
		wantKind   Kind
		wantReason string
	}{
		{
			name:       "gitlab null ci_config_ref_uri",
			claims:     map[string]any{"iss": "https://gitlab.com", "sub": "s", "ci_config_ref_uri": nil, "project_path": "g/p", "pipeline_source": "parent_pipeline"},
			wantKind:   GitLab,
			wantReason: "ci_config_ref_uri",
		},
		{
			name:       "gitlab missing ci_config_ref_uri",
			claims:     map[string]any{"iss": "https://gitlab.com", "sub": "s", "project_path": "g/p", "pipeline_source": "merge_request_event"},
			wantKind:   GitLab,
			wantReason: "ci_config_ref_uri",
		},
		{
			name:       "github without job_workflow_ref",
			claims:     map[string]any{"iss": "https://token.actions.githubusercontent.com", "runner_environment": "github-hosted", "workflow_ref": "o/r/.github/workflows/a.yml@refs/heads/main"},
			wantKind:   GitHub,
			wantReason: "job_workflow_ref",
		},
		{
			name:       "kubernetes without service account",
			claims:     map[string]any{"iss": "https://k8s.example", "kubernetes.io": map[string]any{"namespace": "ci"}},
			wantKind:   Kubernetes,
			wantReason: "service account",
		},
		{
			name:       "kubernetes without namespace",
			claims:     map[string]any{"iss": "https://k8s.example", "kubernetes.io": map[string]any{"serviceaccount": map[string]any{"name": "sa"}}},
			wantKind:   Kubernetes,
			wantReason: "namespace",
		},
		{
			name:       "generic without email or sub",
			claims:     map[string]any{"iss": "https://issuer.example"},
			wantKind:   Generic,
			wantReason: "neither an email nor a sub",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustParse(t, tt.claims).Identity()
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("Identity() = %+v, %v; want *PreflightError", got, err)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q does not mention %q", err, tt.wantReason)
			}
			if diff := cmp.Diff(Identity{Kind: tt.wantKind, Issuer: tt.claims["iss"].(string)}, got); diff != "" {
				t.Errorf("Identity on error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
