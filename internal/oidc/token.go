// Package oidc gets OIDC identity tokens from CI platforms and derives the
// identity that a Fulcio certificate issued for a token will carry.
//
// Tokens are decoded here without verifying their signature: Fulcio verifies
// them. Decoding lets keyless refuse a token that Fulcio would refuse anyway,
// with an error that says what to change, before anything is signed.
package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Audience is the audience Sigstore's Fulcio accepts.
const Audience = "sigstore"

// Token is a decoded, unverified OIDC identity token.
type Token struct {
	// Raw is the compact JWT. It is a secret: never log it.
	Raw string
	// Issuer is the iss claim.
	Issuer string
	// Subject is the sub claim.
	Subject string
	// Audience is the aud claim, as a list.
	Audience []string
	// Expiry is the exp claim.
	Expiry time.Time
	// Claims holds every claim as decoded from JSON.
	Claims map[string]any
}

// String returns a description of the token that never includes the token.
func (t *Token) String() string {
	return fmt.Sprintf("token(iss=%s sub=%s)", t.Issuer, t.Subject)
}

// Parse decodes a compact JWT without verifying it.
func Parse(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT: want three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("decoding JWT payload: %w", err)
	}
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("decoding JWT claims: %w", err)
	}
	t := &Token{Raw: raw, Claims: claims}
	t.Issuer, _ = claims["iss"].(string)
	t.Subject, _ = claims["sub"].(string)
	switch aud := claims["aud"].(type) {
	case string:
		t.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				t.Audience = append(t.Audience, s)
			}
		}
	}
	if exp, ok := claims["exp"].(json.Number); ok {
		secs, err := exp.Int64()
		if err != nil {
			return nil, fmt.Errorf("decoding exp claim: %w", err)
		}
		t.Expiry = time.Unix(secs, 0)
	}
	if t.Issuer == "" {
		return nil, errors.New("token has no iss claim")
	}
	return t, nil
}

// Claim returns the string claim name and whether it is present and non-null.
func (t *Token) Claim(name string) (string, bool) {
	v, ok := t.Claims[name]
	if !ok || v == nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return v.String(), true
	case bool:
		return fmt.Sprint(v), true
	}
	return "", false
}

// PreflightError explains why a token cannot be used, and what to do.
type PreflightError struct {
	// Reason says what is wrong with the token.
	Reason string
	// Fix says what the user should change.
	Fix string
	// Expired is true when the token's only fault is its age: a fresh one
	// from the same source may do.
	Expired bool
}

// Error returns the message.
func (e *PreflightError) Error() string {
	return e.Reason + ": " + e.Fix
}

// BadInput reports that the user must fix the token: exit status 2.
func (e *PreflightError) BadInput() bool { return true }

// minValidity is how long a token must stay valid: Fulcio is called within
// seconds, but a clock skew of a minute between runner and Fulcio is common.
const minValidity = time.Minute

// Preflight checks what Fulcio would check of the token's shape: its audience,
// its expiry and, for the platforms that need them, the claims Fulcio builds
// the certificate identity from.
func (t *Token) Preflight(now time.Time) error {
	if !slices.Contains(t.Audience, Audience) {
		return &PreflightError{
			Reason: fmt.Sprintf("identity token audience is %q, not %q", strings.Join(t.Audience, ","), Audience),
			Fix:    "request the token with audience sigstore (GitLab: id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore; Buildkite: buildkite-agent oidc request-token --audience sigstore; CircleCI: circleci run oidc get --claims '{\"aud\":\"sigstore\"}'; Kubernetes: a projected serviceAccountToken with audience: sigstore)",
		}
	}
	if !t.Expiry.IsZero() && t.Expiry.Before(now.Add(minValidity)) {
		return &PreflightError{
			Reason:  fmt.Sprintf("identity token expired at %s", t.Expiry.UTC().Format(time.RFC3339)),
			Fix:     "mint a fresh token right before signing (tokens live minutes; do not cache them across jobs)",
			Expired: true,
		}
	}
	_, err := t.Identity()
	return err
}
