package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

func TestTrustFiles(t *testing.T) {
	b, err := os.ReadFile(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatalf("loading trusted root: %v", err)
	}
	if n := len(tr.RekorLogs()); n != 2 {
		t.Errorf("trusted root has %d Rekor logs, want 2 (v1 and v2)", n)
	}
	if n := len(tr.CTLogs()); n != 1 {
		t.Errorf("trusted root has %d CT logs, want 1", n)
	}
	if n := len(tr.FulcioCertificateAuthorities()); n != 1 {
		t.Errorf("trusted root has %d CAs, want 1", n)
	}
	if n := len(tr.TimestampingAuthorities()); n != 1 {
		t.Errorf("trusted root has %d TSAs, want 1", n)
	}
	for path, want := range map[string][]uint32{
		stk.SigningConfig:    {2},
		stk.SigningConfigV1:  {1},
		stk.SigningConfigAll: {2, 1},
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := root.NewSigningConfigFromJSON(b)
		if err != nil {
			t.Fatalf("loading %s: %v", path, err)
		}
		var got []uint32
		for _, s := range sc.RekorLogURLs() {
			got = append(got, s.MajorAPIVersion)
		}
		if len(got) != len(want) || got[0] != want[0] {
			t.Errorf("%s: Rekor API versions %v, want %v", path, got, want)
		}
		if len(sc.FulcioCertificateAuthorityURLs()) != 1 || len(sc.TimestampAuthorityURLs()) != 1 {
			t.Errorf("%s: want one CA and one TSA", path)
		}
	}
}

// runnerToken calls the GitHub runner endpoint the way actions/core does.
func runnerToken(t *testing.T, extra, bearer string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, stk.GitHubRunnerTokenURL+extra+"&audience=sigstore", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	var body struct {
		Count int    `json:"count"`
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp, claims(t, body.Value)
}

// claims decodes (without verifying) a JWT's payload.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGitHubRunnerEndpoint(t *testing.T) {
	tok := stk.GitHubRunnerRequestToken
	t.Run("ok", func(t *testing.T) {
		resp, c := runnerToken(t, "", tok)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s", resp.Status)
		}
		if c["aud"] != "sigstore" || c["iss"] != stk.OIDCIssuerGitHub || c["job_workflow_ref"] == nil {
			t.Errorf("unexpected claims %v", c)
		}
	})
	t.Run("bad bearer", func(t *testing.T) {
		if resp, _ := runnerToken(t, "", "nope"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %s, want 401", resp.Status)
		}
		if resp, _ := runnerToken(t, "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %s, want 401", resp.Status)
		}
	})
	t.Run("fail", func(t *testing.T) {
		if resp, _ := runnerToken(t, "&fail=500", tok); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %s, want 500", resp.Status)
		}
	})
	t.Run("delay", func(t *testing.T) {
		start := time.Now()
		if resp, _ := runnerToken(t, "&delay=1s", tok); resp.StatusCode != http.StatusOK {
			t.Errorf("status %s", resp.Status)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("answered after %v, want ≥ 1s", d)
		}
	})
	t.Run("expired", func(t *testing.T) {
		_, c := runnerToken(t, "&expired=1", tok)
		if exp := int64(c["exp"].(float64)); exp > time.Now().Unix() {
			t.Errorf("exp %d is in the future", exp)
		}
	})
	t.Run("claims", func(t *testing.T) {
		o := base64.RawURLEncoding.EncodeToString([]byte(`{"repository":"acme/app","actor":null}`))
		_, c := runnerToken(t, "&claims="+o, tok)
		if c["repository"] != "acme/app" || c["sub"] != "repo:acme/app:ref:refs/heads/main" {
			t.Errorf("override not applied: %v", c)
		}
		if _, ok := c["actor"]; ok {
			t.Errorf("actor not deleted")
		}
	})
}
