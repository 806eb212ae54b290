package job

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/verify"
)

// jwt builds an unsigned token with the given expiry.
func jwt(t *testing.T, exp time.Time) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{"iss": "https://issuer.example", "sub": "ci", "aud": "sigstore", "exp": exp.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

// sequence returns the tokens in order, one per call.
func sequence(tokens ...string) TokenSource {
	i := 0
	return oidc.SourceFunc(func(context.Context) (string, error) {
		tok := tokens[min(i, len(tokens)-1)]
		i++
		return tok, nil
	})
}

func TestIdentityTokenFetchesAnExpiredTokenAgain(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	expired, fresh := jwt(t, now.Add(-time.Minute)), jwt(t, now.Add(10*time.Minute))
	for _, tc := range []struct {
		name    string
		tokens  []string
		want    string
		wantErr string
	}{
		{"fresh at once", []string{fresh}, fresh, ""},
		{"expired, then fresh", []string{expired, fresh}, fresh, ""},
		{"expired twice", []string{expired, expired}, "", "expired"},
		{"not a JWT", []string{"nope"}, "", "identity-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var masked []string
			c := Config{Token: sequence(tc.tokens...), Now: func() time.Time { return now }, Mask: func(s string) { masked = append(masked, s) }}
			c.defaults()
			tok, err := identityToken(context.Background(), c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("identityToken() error = %v, want one containing %q", err, tc.wantErr)
				}
				if !IsInput(err) {
					t.Errorf("identityToken() error %v is not an input error (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Raw != tc.want {
				t.Errorf("identityToken() returned another token")
			}
			for _, m := range masked {
				if m == "" {
					t.Errorf("masked an empty string")
				}
			}
			if len(masked) != len(tc.tokens) {
				t.Errorf("masked %d tokens, want every one fetched (%d)", len(masked), len(tc.tokens))
			}
		})
	}
	var pe *oidc.PreflightError
	c := Config{Token: sequence(expired), Now: func() time.Time { return now }}
	c.defaults()
	if _, err := identityToken(context.Background(), c); !errors.As(err, &pe) || !pe.Expired {
		t.Errorf("an expired token's error is %v, want a PreflightError marked Expired", err)
	}
}

// TestSignRefusesControlCharacters refuses an identity or issuer override
// holding a newline before any token is fetched or anything is written.
func TestSignRefusesControlCharacters(t *testing.T) {
	for input, p := range map[string]verify.Policy{
		"certificate-identity":    {Identity: "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main\n```"},
		"certificate-oidc-issuer": {Issuer: "https://token.actions.githubusercontent.com\r\n---"},
	} {
		t.Run(input, func(t *testing.T) {
			fetched := false
			c := Config{Images: []string{"registry.example/app:v1"}, Policy: p,
				Token: oidc.SourceFunc(func(context.Context) (string, error) { fetched = true; return "", errors.New("not reached") })}
			_, err := Sign(context.Background(), c)
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || pe.Input != input || !IsInput(err) {
				t.Fatalf("Sign: %v, want an input error naming %s", err, input)
			}
			if fetched {
				t.Error("the token was fetched before the inputs were checked")
			}
		})
	}
}
