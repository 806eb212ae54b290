package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// jwt builds an unsigned compact JWT carrying claims.
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return rawJWT(string(payload))
}

// rawJWT builds a compact JWT whose payload is the given text.
func rawJWT(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
}

func mustParse(t *testing.T, claims map[string]any) *Token {
	t.Helper()
	tok, err := Parse(jwt(t, claims))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tok
}

func TestParse(t *testing.T) {
	type fields struct {
		Issuer, Subject string
		Audience        []string
		Expiry          time.Time
	}
	tests := []struct {
		name string
		raw  string
		want fields
	}{
		{
			name: "aud as string",
			raw:  rawJWT(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main","aud":"sigstore","exp":1700000000}`),
			want: fields{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:o/r:ref:refs/heads/main", Audience: []string{"sigstore"}, Expiry: time.Unix(1700000000, 0)},
		},
		{
			name: "aud as list, non-strings dropped",
			raw:  rawJWT(`{"iss":"https://gitlab.com","aud":["other","sigstore",7],"exp":1800000000}`),
			want: fields{Issuer: "https://gitlab.com", Audience: []string{"other", "sigstore"}, Expiry: time.Unix(1800000000, 0)},
		},
		{
			name: "no aud, no exp",
			raw:  rawJWT(`{"iss":"https://issuer.example"}`),
			want: fields{Issuer: "https://issuer.example"},
		},
		{
			name: "surrounding whitespace and padded payload",
			raw: "  \n" + base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + "." +
				base64.URLEncoding.EncodeToString([]byte(`{"iss":"https://a.example","sub":"x"}`)) + ".sig\n",
			want: fields{Issuer: "https://a.example", Subject: "x"},
		},
		{
			name: "large exp kept exactly",
			raw:  rawJWT(`{"iss":"https://a.example","exp":4102444800}`),
			want: fields{Issuer: "https://a.example", Expiry: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Parse(tt.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := fields{Issuer: tok.Issuer, Subject: tok.Subject, Audience: tok.Audience, Expiry: tok.Expiry}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(strings.TrimSpace(tt.raw), tok.Raw); diff != "" {
				t.Errorf("Raw mismatch (-want +got):\n%s", diff)
			}
			if tok.Claims["iss"] != tt.want.Issuer {
				t.Errorf("Claims[iss] = %v, want %q", tok.Claims["iss"], tt.want.Issuer)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{"empty", "", "three dot-separated parts"},
		{"two parts", enc([]byte(`{}`)) + "." + enc([]byte(`{"iss":"x"}`)), "three dot-separated parts"},
		{"four parts", rawJWT(`{"iss":"x"}`) + ".extra", "three dot-separated parts"},
		{"bad base64", "e30.!!not*base64!!.sig", "decoding JWT payload"},
		{"bad JSON", "e30." + enc([]byte(`{"iss":`)) + ".sig", "decoding JWT claims"},
		{"JSON not an object", "e30." + enc([]byte(`["iss"]`)) + ".sig", "decoding JWT claims"},
		{"no iss", rawJWT(`{"sub":"x","aud":"sigstore"}`), "no iss claim"},
		{"iss not a string", rawJWT(`{"iss":42}`), "no iss claim"},
		{"empty iss", rawJWT(`{"iss":""}`), "no iss claim"},
		{"null payload", rawJWT(`null`), "no iss claim"},
		{"exp not an integer", rawJWT(`{"iss":"x","exp":1e400}`), "exp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Parse(tt.raw)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error containing %q", tt.raw, tok, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.raw, err, tt.wantErr)
			}
			if tok != nil {
				t.Errorf("Parse(%q) returned token %v with error", tt.raw, tok)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	tok, err := Parse(rawJWT(`{"iss":"i","s":"v","empty":"","null":null,"n":12,"b":true,"obj":{"a":1},"list":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Value string
		OK    bool
	}
	tests := []struct {
		claim string
		want  result
	}{
		{"s", result{"v", true}},
		{"empty", result{"", false}},
		{"null", result{"", false}},
		{"missing", result{"", false}},
		{"n", result{"12", true}},
		{"b", result{"true", true}},
		{"obj", result{"", false}},
		{"list", result{"", false}},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			v, ok := tok.Claim(tt.claim)
			if diff := cmp.Diff(tt.want, result{v, ok}); diff != "" {
				t.Errorf("Claim(%q) mismatch (-want +got):\n%s", tt.claim, diff)
			}
		})
	}
}

func TestTokenStringHidesRaw(t *testing.T) {
	raw := jwt(t, map[string]any{"iss": "https://issuer.example", "sub": "me", "aud": "sigstore"})
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  string
	}{
		{"String", tok.String()},
		{"%v", fmt.Sprintf("%v", tok)},
		{"%+v", fmt.Sprintf("%+v", tok)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, part := range append([]string{raw}, strings.Split(raw, ".")...) {
				if strings.Contains(tt.got, part) {
					t.Errorf("%s = %q contains token material %q", tt.name, tt.got, part)
				}
			}
			if diff := cmp.Diff("token(iss=https://issuer.example sub=me)", tt.got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	github := func(aud any, exp time.Time) map[string]any {
		c := map[string]any{
			"iss":              "https://token.actions.githubusercontent.com",
			"sub":              "repo:o/r:ref:refs/heads/main",
			"job_workflow_ref": "o/r/.github/workflows/release.yml@refs/heads/main",
			"workflow_ref":     "o/r/.github/workflows/release.yml@refs/heads/main",
		}
		if aud != nil {
			c["aud"] = aud
		}
		if !exp.IsZero() {
			c["exp"] = exp.Unix()
		}
		return c
	}
	tests := []struct {
		name       string
		claims     map[string]any
		wantReason string // "" means no error
	}{
		{"ok", github("sigstore", now.Add(5*time.Minute)), ""},
		{"ok, audience in a list", github([]any{"https://github.com/o", "sigstore"}, now.Add(5*time.Minute)), ""},
		{"ok, no exp", github("sigstore", time.Time{}), ""},
		{"ok, exactly one minute left", github("sigstore", now.Add(time.Minute)), ""},
		{"wrong audience", github("https://github.com/o", now.Add(5*time.Minute)), `audience is "https://github.com/o", not "sigstore"`},
		{"no audience", github(nil, now.Add(5*time.Minute)), `audience is "", not "sigstore"`},
		{"expired", github("sigstore", now.Add(-time.Hour)), "expired at 2025-06-01T11:00:00Z"},
		{"expires within a minute", github("sigstore", now.Add(30*time.Second)), "expired at 2025-06-01T12:00:30Z"},
		{"identity fails", map[string]any{"iss": "https://gitlab.com", "aud": "sigstore", "exp": now.Add(time.Hour).Unix(), "ci_config_ref_uri": nil}, "ci_config_ref_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustParse(t, tt.claims).Preflight(now)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Preflight: %v", err)
				}
				return
			}
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("Preflight error = %v (%T), want *PreflightError", err, err)
			}
			if !strings.Contains(pe.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, tt.wantReason)
			}
			if pe.Fix == "" {
				t.Error("Fix is empty")
			}
			if diff := cmp.Diff(pe.Reason+": "+pe.Fix, err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
