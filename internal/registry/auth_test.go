package registry

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// credentials returns what kc hands out for registry host.
func credentials(t *testing.T, kc authn.Keychain, host string) authn.AuthConfig {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(reg)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", host, err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatalf("Authorization(%s): %v", host, err)
	}
	return *cfg
}

func TestAuthKeychain(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	anon := authn.AuthConfig{}
	tests := []struct {
		name string
		auth Auth
		want map[string]authn.AuthConfig // host → credentials
	}{
		{
			name: "nothing given is anonymous",
			auth: Auth{},
			want: map[string]authn.AuthConfig{"ghcr.io": anon, "registry.example": anon},
		},
		{
			name: "username and password only for the listed registries",
			auth: Auth{Username: "u", Password: "p", Registries: []string{"registry.example", "localhost:5000"}},
			want: map[string]authn.AuthConfig{
				"registry.example": {Username: "u", Password: "p"},
				"localhost:5000":   {Username: "u", Password: "p"},
				"localhost":        anon,
				"ghcr.io":          anon,
				"index.docker.io":  anon,
			},
		},
		{
			name: "github token for ghcr.io only, as the actor",
			auth: Auth{GitHubToken: "ghs_x", GitHubActor: "octocat"},
			want: map[string]authn.AuthConfig{
				"ghcr.io":          {Username: "octocat", Password: "ghs_x"},
				"registry.example": anon,
				"docker.io":        anon,
			},
		},
		{
			name: "github token without actor",
			auth: Auth{GitHubToken: "ghs_x"},
			want: map[string]authn.AuthConfig{"ghcr.io": {Username: "x-access-token", Password: "ghs_x"}},
		},
		{
			name: "explicit credentials come before the github token",
			auth: Auth{Username: "u", Password: "p", Registries: []string{"ghcr.io"}, GitHubToken: "ghs_x"},
			want: map[string]authn.AuthConfig{"ghcr.io": {Username: "u", Password: "p"}},
		},
		{
			name: "docker auth config, auth and username/password forms",
			auth: Auth{DockerAuthConfig: `{"auths":{
				"https://index.docker.io/v1/": {"auth": "` + b64([]byte("hub-user:hub:pass")) + `"},
				"registry.gitlab.com": {"username": "gitlab-ci-token", "password": "glcbt-x"},
				"http://registry.example:5000/v2/": {"auth": "` + b64([]byte("r:s")) + `"}
			}}`},
			want: map[string]authn.AuthConfig{
				"docker.io":             {Username: "hub-user", Password: "hub:pass"},
				"registry.gitlab.com":   {Username: "gitlab-ci-token", Password: "glcbt-x"},
				"registry.example:5000": {Username: "r", Password: "s"},
				"registry.example":      anon,
				"ghcr.io":               anon,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", t.TempDir()) // no ambient credentials
			kc, err := tt.auth.Keychain()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]authn.AuthConfig{}
			for host := range tt.want {
				got[host] = credentials(t, kc, host)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credentials mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthKeychainErrors(t *testing.T) {
	tests := []struct {
		name, config, wantErr string
	}{
		{"bad JSON", `{"auths":`, "not a Docker config.json"},
		{"auths not an object", `{"auths":[]}`, "not a Docker config.json"},
		{"auth not base64", `{"auths":{"registry.example":{"auth":"%%%"}}}`, "auth for registry.example is not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc, err := Auth{DockerAuthConfig: tt.config}.Keychain()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Keychain() = %v, %v; want error containing %q", kc, err, tt.wantErr)
			}
		})
	}
}
