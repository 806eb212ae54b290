package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

// MintOption adjusts a mint request.
type MintOption func(*oidcissuer.MintRequest)

// WithAudience sets the "aud" claim (default "sigstore").
func WithAudience(aud string) MintOption {
	return func(r *oidcissuer.MintRequest) { r.Audience = aud }
}

// WithClaims overrides claims; a nil value deletes the claim.
func WithClaims(claims map[string]any) MintOption {
	return func(r *oidcissuer.MintRequest) {
		if r.Claims == nil {
			r.Claims = map[string]any{}
		}
		for k, v := range claims {
			r.Claims[k] = v
		}
	}
}

// WithTTL sets the lifetime in seconds; negative mints an expired token.
func WithTTL(seconds int) MintOption {
	return func(r *oidcissuer.MintRequest) { r.TTLSeconds = &seconds }
}

// WithIssuer replaces the "iss" claim.
func WithIssuer(iss string) MintOption {
	return func(r *oidcissuer.MintRequest) { r.IssuerOverride = iss }
}

// Mint gets a token of kind (github, gitlab or kubernetes) from the stack's
// issuer.
func (s *Stack) Mint(ctx context.Context, kind string, opts ...MintOption) (string, error) {
	req := oidcissuer.MintRequest{Kind: oidcissuer.Kind(kind)}
	for _, o := range opts {
		o(&req)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.OIDCURL+"/mint", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("minting %s token: %w", kind, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("minting %s token: %s: %s", kind, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// Issuer returns the issuer URL of a token kind.
func (s *Stack) Issuer(kind string) string {
	return oidcissuer.IssuerURL(s.OIDCURL, oidcissuer.Kind(kind))
}
