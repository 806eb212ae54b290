// Package stack starts, stops and describes the local Sigstore test stack:
// an OCI registry, the project's OIDC issuer, Fulcio, a TesseraCT CT log,
// Rekor v2 (rekor-tiles), Rekor v1 on Trillian and MariaDB, and a timestamp
// authority, all on 127.0.0.1.
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultDir returns the state directory: $KEYLESS_STACK_DIR or
// /tmp/keyless-stack.
func DefaultDir() string {
	if d := os.Getenv("KEYLESS_STACK_DIR"); d != "" {
		return d
	}
	return "/tmp/keyless-stack"
}

// Stack describes a started stack. It is stored as stack.json in the state
// directory.
type Stack struct {
	Dir     string    `json:"dir"`
	Started time.Time `json:"started"`

	Registry   string `json:"registry"` // host:port, plain HTTP
	FulcioURL  string `json:"fulcio_url"`
	FulcioGRPC string `json:"fulcio_grpc"` // host:port
	RekorURL   string `json:"rekor_url"`   // Rekor v2 (rekor-tiles)
	RekorV1URL string `json:"rekor_v1_url"`
	TSAURL     string `json:"tsa_url"` // the timestamping endpoint (…/api/v1/timestamp)
	CTURL      string `json:"ct_url"`
	OIDCURL    string `json:"oidc_url"` // the issuer server's base URL

	OIDCIssuerGitHub     string `json:"oidc_issuer_github"`
	OIDCIssuerGitLab     string `json:"oidc_issuer_gitlab"`
	OIDCIssuerKubernetes string `json:"oidc_issuer_kubernetes"`

	// GitHubRunnerTokenURL is an ACTIONS_ID_TOKEN_REQUEST_URL: clients
	// append "&audience=…".
	GitHubRunnerTokenURL     string `json:"github_runner_token_url"`
	GitHubRunnerRequestToken string `json:"github_runner_request_token"`

	TrustedRoot      string `json:"trusted_root"`
	SigningConfig    string `json:"signing_config"`     // Fulcio, Rekor v2, TSA
	SigningConfigV1  string `json:"signing_config_v1"`  // Fulcio, Rekor v1, TSA
	SigningConfigAll string `json:"signing_config_all"` // Fulcio, both Rekors, TSA

	CosignV2 string `json:"cosign_v2"`
	CosignV3 string `json:"cosign_v3"`
	Tools    string `json:"tools"` // directory of the built binaries

	// Pids maps each service name to the pid of its process, which leads
	// its own process group.
	Pids map[string]int `json:"pids"`
}

// Running loads the stack recorded in dir ("" for the default) and checks
// that every service answers; its error says how to start one.
func Running(ctx context.Context, dir string) (*Stack, error) {
	s, err := Load(dir)
	if err == nil {
		err = s.Healthy(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("no healthy local Sigstore stack: %w (start it with: scripts/stack up)", err)
	}
	return s, nil
}

// Load reads the stack.json of the stack in dir (DefaultDir when empty).
func Load(dir string) (*Stack, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	b, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err != nil {
		return nil, fmt.Errorf("loading stack: %w", err)
	}
	var s Stack
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("loading stack: %w", err)
	}
	return &s, nil
}

func (s *Stack) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(s.Dir, "stack.json"), append(b, '\n')); err != nil {
		return err
	}
	return writeFile(filepath.Join(s.Dir, "env"), []byte(s.Env()))
}

// writeFile writes atomically, so readers never see half a file.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Vars returns the KEYLESS_STACK_* environment of the stack.
func (s *Stack) Vars() map[string]string {
	v := map[string]string{
		"KEYLESS_STACK_DIR":                         s.Dir,
		"KEYLESS_STACK_REGISTRY":                    s.Registry,
		"KEYLESS_STACK_FULCIO_URL":                  s.FulcioURL,
		"KEYLESS_STACK_FULCIO_GRPC":                 s.FulcioGRPC,
		"KEYLESS_STACK_REKOR_URL":                   s.RekorURL,
		"KEYLESS_STACK_REKOR_V1_URL":                s.RekorV1URL,
		"KEYLESS_STACK_TSA_URL":                     s.TSAURL,
		"KEYLESS_STACK_CT_URL":                      s.CTURL,
		"KEYLESS_STACK_OIDC_URL":                    s.OIDCURL,
		"KEYLESS_STACK_OIDC_ISSUER_GITHUB":          s.OIDCIssuerGitHub,
		"KEYLESS_STACK_OIDC_ISSUER_GITLAB":          s.OIDCIssuerGitLab,
		"KEYLESS_STACK_OIDC_ISSUER_KUBERNETES":      s.OIDCIssuerKubernetes,
		"KEYLESS_STACK_GITHUB_RUNNER_TOKEN_URL":     s.GitHubRunnerTokenURL,
		"KEYLESS_STACK_GITHUB_RUNNER_REQUEST_TOKEN": s.GitHubRunnerRequestToken,
		"KEYLESS_STACK_TRUSTED_ROOT":                s.TrustedRoot,
		"KEYLESS_STACK_SIGNING_CONFIG":              s.SigningConfig,
		"KEYLESS_STACK_SIGNING_CONFIG_V1":           s.SigningConfigV1,
		"KEYLESS_STACK_SIGNING_CONFIG_ALL":          s.SigningConfigAll,
		"KEYLESS_STACK_COSIGN_V2":                   s.CosignV2,
		"KEYLESS_STACK_COSIGN_V3":                   s.CosignV3,
		"KEYLESS_STACK_TOOLS":                       s.Tools,
	}
	var pids []string
	for _, name := range slices.Sorted(maps.Keys(s.Pids)) {
		pids = append(pids, fmt.Sprintf("%s=%d", name, s.Pids[name]))
	}
	v["KEYLESS_STACK_PIDS"] = strings.Join(pids, ",")
	return v
}

// Env returns the stack's environment as shell export lines.
func (s *Stack) Env() string {
	vars := s.Vars()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(vars[k]))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
