package oidc

import (
	"encoding/base64"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, payload := range []string{
		`{"iss":"https://token.actions.githubusercontent.com","aud":"sigstore","exp":1700000000,"job_workflow_ref":"o/r/.github/workflows/a.yml@refs/heads/main"}`,
		`{"iss":"https://gitlab.com","aud":["sigstore"],"ci_config_ref_uri":null,"project_path":"g/p","pipeline_source":"push"}`,
		`{"iss":"https://k8s","kubernetes.io":{"namespace":"ns","serviceaccount":{"name":"sa"}}}`,
		`{"iss":"x","exp":1e400}`,
		`{"iss":"x","kubernetes.io":"not an object"}`,
		`null`,
		`[]`,
		`{"iss":`,
	} {
		f.Add("e30." + enc([]byte(payload)) + ".sig")
	}
	f.Add("")
	f.Add("..")
	f.Add("a.b")
	f.Add("e30.!!!.sig")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			if tok != nil {
				t.Fatalf("Parse(%q) returned a token with error %v", raw, err)
			}
			return
		}
		if tok.Issuer == "" {
			t.Fatalf("Parse(%q) succeeded with an empty Issuer", raw)
		}
		if tok.Raw != strings.TrimSpace(raw) {
			t.Fatalf("Raw = %q, want %q", tok.Raw, strings.TrimSpace(raw))
		}
		// Deriving the identity must not panic on any claim shape.
		_ = tok.Kind()
		id, err := tok.Identity()
		if err == nil && id.SAN == "" {
			t.Fatalf("Identity() of %q succeeded with an empty SAN", raw)
		}
		_ = tok.String()
	})
}
