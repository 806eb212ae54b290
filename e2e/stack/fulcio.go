package stack

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

// ciProviders is the ci-issuer-metadata of public-good Fulcio for the
// ci-provider issuers it trusts that the stack serves: Buildkite's and
// CircleCI's templates, copied from Fulcio's config/identity/config.yaml.
//
//go:embed fulcio-ci-providers.yaml
var ciProviders []byte

// fulcioIssuerTypes are the Fulcio issuer type of each kind of token the
// stack's issuer mints, and for a ci-provider issuer its template, as
// public-good's config has them.
var fulcioIssuerTypes = map[oidcissuer.Kind][2]string{
	oidcissuer.GitHub:     {"github-workflow", ""},
	oidcissuer.GitLab:     {"gitlab-pipeline", ""},
	oidcissuer.Kubernetes: {"kubernetes", ""},
	oidcissuer.Buildkite:  {"ci-provider", "buildkite-job"},
	oidcissuer.CircleCI:   {"ci-provider", "circleci-job"},
}

// fulcioConfig is Fulcio's configuration for the issuers under base, in
// Fulcio's YAML form (the keys of public-good's config/identity/config.yaml).
func fulcioConfig(base string) ([]byte, error) {
	var meta map[string]any
	if err := yaml.Unmarshal(ciProviders, &meta); err != nil {
		return nil, fmt.Errorf("fulcio-ci-providers.yaml: %w", err)
	}
	issuers := map[string]any{}
	for _, kind := range oidcissuer.Kinds {
		typ, ok := fulcioIssuerTypes[kind]
		if !ok {
			return nil, fmt.Errorf("no Fulcio issuer type for tokens of kind %s", kind)
		}
		iss := oidcissuer.IssuerURL(base, kind)
		entry := map[string]string{"issuer-url": iss, "client-id": "sigstore", "type": typ[0]}
		if typ[1] != "" {
			if meta[typ[1]] == nil {
				return nil, fmt.Errorf("fulcio-ci-providers.yaml has no %s", typ[1])
			}
			entry["ci-provider"] = typ[1]
		}
		issuers[iss] = entry
	}
	return yaml.Marshal(map[string]any{"oidc-issuers": issuers, "ci-issuer-metadata": meta})
}
