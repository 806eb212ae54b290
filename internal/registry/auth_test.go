package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
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
	dir := t.TempDir()
	config := `{"auths":{"registry.example":{"auth":"` + b64([]byte("prod:push")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, []struct {
		name string
		auth Auth
		want map[string]authn.AuthConfig
	}{
		{
			name: "a Docker config directory's logins",
			auth: Auth{DockerConfig: dir},
			want: map[string]authn.AuthConfig{"registry.example": {Username: "prod", Password: "push"}, "ghcr.io": anon},
		},
		{
			name: "a Docker config directory before DOCKER_AUTH_CONFIG, after the explicit login",
			auth: Auth{DockerConfig: dir, DockerAuthConfig: `{"auths":{"registry.example":{"auth":"` + b64([]byte("dev:pull")) + `"},"other.example":{"auth":"` + b64([]byte("o:p")) + `"}}}`,
				Username: "u", Password: "p", Registries: []string{"explicit.example"}},
			want: map[string]authn.AuthConfig{
				"registry.example": {Username: "prod", Password: "push"},
				"other.example":    {Username: "o", Password: "p"},
				"explicit.example": {Username: "u", Password: "p"},
			},
		},
	}...)
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
			if err == nil || !strings.Contains(err.Error(), "DOCKER_AUTH_CONFIG") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Keychain() = %v, %v; want error naming DOCKER_AUTH_CONFIG and containing %q", kc, err, tt.wantErr)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			kc, err = Auth{DockerConfig: dir}.Keychain()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Keychain() = %v, %v; want error naming %s and containing %q", kc, err, path, tt.wantErr)
			}
		})
	}
	t.Run("no config.json in the directory", func(t *testing.T) {
		if _, err := (Auth{DockerConfig: t.TempDir()}).Keychain(); err == nil || !strings.Contains(err.Error(), "config.json") {
			t.Fatalf("Keychain() error = %v, want one naming config.json", err)
		}
	})
}
