// Package oidcissuer is the e2e stack's OIDC provider. One server serves five
// issuers under path prefixes (/github, /gitlab, /kubernetes, /buildkite,
// /circleci), each minting tokens shaped like the real GitHub Actions, GitLab
// CI, Kubernetes service account, Buildkite agent and CircleCI tokens, plus
// the GitHub Actions runner token endpoint.
package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultAudience is the audience Fulcio expects.
const DefaultAudience = "sigstore"

// DefaultTTL is the lifetime of a minted token unless a request says otherwise.
const DefaultTTL = 10 * time.Minute

// Issuer mints and serves tokens for the issuers of every kind.
type Issuer struct {
	key          *ecdsa.PrivateKey
	baseURL      string
	requestToken string
	served       atomic.Int64
	now          func() time.Time
}

// New returns an Issuer whose issuers live under baseURL (for example
// http://127.0.0.1:5001) and whose runner endpoint accepts requestToken as
// the bearer token.
func New(baseURL string, key *ecdsa.PrivateKey, requestToken string) *Issuer {
	return &Issuer{
		key:          key,
		baseURL:      strings.TrimRight(baseURL, "/"),
		requestToken: requestToken,
		now:          time.Now,
	}
}

// IssuerURL returns the issuer ("iss") URL of kind.
func IssuerURL(baseURL string, kind Kind) string {
	return strings.TrimRight(baseURL, "/") + "/" + string(kind)
}

// IssuerURL returns the issuer ("iss") URL of kind on this server.
func (i *Issuer) IssuerURL(kind Kind) string { return IssuerURL(i.baseURL, kind) }

// MintRequest describes a token to mint. It is also the JSON body of
// POST /mint.
type MintRequest struct {
	// Kind selects the token shape: github, gitlab, kubernetes, buildkite
	// or circleci.
	Kind Kind `json:"kind"`
	// Audience is the "aud" claim; empty means DefaultAudience.
	Audience string `json:"audience,omitempty"`
	// Claims override the defaults; a nil value deletes the claim.
	Claims map[string]any `json:"claims,omitempty"`
	// TTLSeconds is the lifetime; nil means DefaultTTL and a negative value
	// mints a token that has already expired.
	TTLSeconds *int `json:"ttl_seconds,omitempty"`
	// IssuerOverride replaces the "iss" claim (the token is still signed
	// by this server's key).
	IssuerOverride string `json:"issuer_override,omitempty"`
}

// Mint returns a signed JWT for req.
func (i *Issuer) Mint(req MintRequest) (string, error) {
	claims, err := i.Claims(req)
	if err != nil {
		return "", err
	}
	return sign(i.key, claims)
}

// Claims returns the claim set Mint would sign for req.
func (i *Issuer) Claims(req MintRequest) (map[string]any, error) {
	if req.Kind == "" {
		req.Kind = GitHub
	}
	if !req.Kind.valid() {
		return nil, fmt.Errorf("unknown token kind %q (want one of %v)", req.Kind, Kinds)
	}
	aud := req.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	ttl := DefaultTTL
	if req.TTLSeconds != nil {
		ttl = time.Duration(*req.TTLSeconds) * time.Second
	}
	now := i.now()
	iat := now
	if ttl <= 0 {
		// An expired token must still have been issued before it expired.
		iat = now.Add(ttl - time.Minute)
	}
	iss := i.IssuerURL(req.Kind)
	if req.IssuerOverride != "" {
		iss = req.IssuerOverride
	}

	claims := kindClaims(req.Kind, req.Claims)
	claims["iss"] = iss
	claims["aud"] = aud
	claims["iat"] = iat.Unix()
	claims["nbf"] = iat.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	claims["jti"] = newJTI()
	for k, v := range req.Claims {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	return claims, nil
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
