package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Auth is the registry credentials a run was given.
type Auth struct {
	// Username and Password apply to Registries (host[:port]).
	Username, Password string
	Registries         []string
	// GitHubToken, with GitHubActor, logs in to ghcr.io.
	GitHubToken, GitHubActor string
	// DockerAuthConfig is the content of a Docker config.json (GitLab's
	// DOCKER_AUTH_CONFIG variable).
	DockerAuthConfig string
	// DockerConfig is a directory holding a Docker config.json whose
	// logins come before DockerAuthConfig's (a Tekton workspace of
	// another registry's credentials than DOCKER_CONFIG's).
	DockerConfig string
}

// Keychain returns a keychain that tries, in order: the explicit username
// and password, the logins of DockerConfig's config.json, DockerAuthConfig,
// the GitHub token for ghcr.io, then the Docker config (DOCKER_CONFIG or
// ~/.docker) and anonymous access.
func (a Auth) Keychain() (authn.Keychain, error) {
	var chains []authn.Keychain
	if a.Username != "" || a.Password != "" {
		chains = append(chains, hosts(a.Registries, authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password})))
	}
	if a.DockerConfig != "" {
		path := filepath.Join(a.DockerConfig, "config.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the Docker config: %w", err)
		}
		kc, err := dockerAuthConfig(path, string(b))
		if err != nil {
			return nil, err
		}
		chains = append(chains, kc)
	}
	if a.DockerAuthConfig != "" {
		kc, err := dockerAuthConfig("DOCKER_AUTH_CONFIG", a.DockerAuthConfig)
		if err != nil {
			return nil, err
		}
		chains = append(chains, kc)
	}
	if a.GitHubToken != "" {
		user := a.GitHubActor
		if user == "" {
			user = "x-access-token"
		}
		chains = append(chains, hosts([]string{"ghcr.io"}, authn.FromConfig(authn.AuthConfig{Username: user, Password: a.GitHubToken})))
	}
	chains = append(chains, authn.DefaultKeychain)
	return authn.NewMultiKeychain(chains...), nil
}

// hostKeychain answers with one authenticator for a set of registries.
type hostKeychain struct {
	hosts map[string]bool
	auth  authn.Authenticator
}

func hosts(names []string, auth authn.Authenticator) authn.Keychain {
	k := hostKeychain{hosts: map[string]bool{}, auth: auth}
	for _, n := range names {
		k.hosts[n] = true
	}
	return k
}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.hosts[r.RegistryStr()] {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// dockerAuthConfig parses the "auths" of a Docker config.json, from
// source (for messages).
func dockerAuthConfig(source, content string) (authn.Keychain, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if err := json.Unmarshal([]byte(content), &cfg); err != nil {
		return nil, fmt.Errorf("%s is not a Docker config.json: %w", source, err)
	}
	var chains []authn.Keychain
	for host, e := range cfg.Auths {
		user, pass := e.Username, e.Password
		if e.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("%s: auth for %s is not base64", source, host)
			}
			user, pass, _ = strings.Cut(string(dec), ":")
		}
		host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
		host, _, _ = strings.Cut(host, "/")
		chains = append(chains, hosts([]string{host}, authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})))
	}
	return authn.NewMultiKeychain(chains...), nil
}
