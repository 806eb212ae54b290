package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/registry"
)

func TestAuth(t *testing.T) {
	images := []string{"registry.gitlab.example.com/g/p@sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"}
	for _, tc := range []struct {
		name     string
		platform string
		inputs   map[string]string
		env      map[string]string
		want     registry.Auth
	}{
		{"explicit credentials for the images' registries", "cli",
			map[string]string{"registry-username": "u", "registry-password": "p"}, nil,
			registry.Auth{Username: "u", Password: "p", Registries: []string{"registry.gitlab.example.com"}}},
		{"GitLab registry user and password", "gitlab", nil,
			map[string]string{"CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "pw"},
			registry.Auth{Username: "gitlab-ci-token", Password: "pw", Registries: []string{"registry.gitlab.example.com"}}},
		{"GitLab job token", "gitlab", nil,
			map[string]string{"CI_REGISTRY": "registry.gitlab.example.com", "CI_JOB_TOKEN": "jt"},
			registry.Auth{Username: "gitlab-ci-token", Password: "jt", Registries: []string{"registry.gitlab.example.com"}}},
		{"explicit credentials win on GitLab", "gitlab",
			map[string]string{"registry-username": "u", "registry-password": "p"},
			map[string]string{"CI_REGISTRY": "registry.gitlab.example.com", "CI_JOB_TOKEN": "jt"},
			registry.Auth{Username: "u", Password: "p", Registries: []string{"registry.gitlab.example.com"}}},
		{"GitHub token for ghcr.io", "github", nil,
			map[string]string{"GITHUB_TOKEN": "ght", "GITHUB_ACTOR": "octocat"},
			registry.Auth{GitHubToken: "ght", GitHubActor: "octocat", Registries: []string{"registry.gitlab.example.com"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			p, err := ci.Detect(ci.Env{Getenv: func(k string) string {
				if k == "KEYLESS_PLATFORM" {
					return tc.platform
				}
				return tc.env[k]
			}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := auth(settings{get: func(n string) string { return tc.inputs[n] }}, p, images, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("auth mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
