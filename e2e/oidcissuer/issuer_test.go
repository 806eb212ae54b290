package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestIssuer(t *testing.T) (*Issuer, *httptest.Server) {
	t.Helper()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	iss := New(srv.URL, key, "req-token")
	srv.Config.Handler = iss.Handler()
	return iss, srv
}

// verify checks an ES256 JWT against key and returns its claims.
func verify(t *testing.T, key *ecdsa.PublicKey, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("bad JWT %q", jwt)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("bad signature: %v", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		t.Fatal("signature does not verify")
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMintKinds(t *testing.T) {
	iss, _ := newTestIssuer(t)
	for _, tc := range []struct {
		kind Kind
		want map[string]any
	}{
		{GitHub, map[string]any{"sub": "repo:keyless-dev/demo:ref:refs/heads/main", "job_workflow_ref": "keyless-dev/demo/.github/workflows/release.yml@refs/heads/main"}},
		{GitLab, map[string]any{"sub": "project_path:keyless-dev/demo:ref_type:branch:ref:main", "ci_config_ref_uri": "gitlab.com/keyless-dev/demo//.gitlab-ci.yml@refs/heads/main", "runner_id": float64(800000006)}},
		{Kubernetes, map[string]any{"sub": "system:serviceaccount:keyless:signer"}},
		{Buildkite, map[string]any{"sub": "organization:keyless-dev:pipeline:demo:ref:refs/heads/main:commit:4c4e3b1a9d0f5e6a7b8c9d0e1f2a3b4c5d6e7f80:step:sign",
			"organization_slug": "keyless-dev", "pipeline_slug": "demo", "build_number": float64(42), "build_source": "webhook", "runner_environment": "buildkite-hosted"}},
		{CircleCI, map[string]any{"oidc.circleci.com/project-id": DefaultCircleCIProject, "oidc.circleci.com/pipeline-definition-id": DefaultCircleCIDef,
			"oidc.circleci.com/vcs-origin": "github.com/keyless-dev/demo", "oidc.circleci.com/vcs-ref": "refs/heads/main", "oidc.circleci.com/ssh-rerun": false}},
	} {
		tok, err := iss.Mint(MintRequest{Kind: tc.kind})
		if err != nil {
			t.Fatal(err)
		}
		c := verify(t, &iss.key.PublicKey, tok)
		if c["iss"] != iss.IssuerURL(tc.kind) || c["aud"] != DefaultAudience {
			t.Errorf("%s: iss %v aud %v", tc.kind, c["iss"], c["aud"])
		}
		for k, v := range tc.want {
			if c[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.kind, k, c[k], v)
			}
		}
	}
}

// TestMintCIDerived: a Buildkite tag build and a CircleCI pipeline of
// another repository keep their subjects consistent with the override.
func TestMintCIDerived(t *testing.T) {
	iss, _ := newTestIssuer(t)
	bk, err := iss.Claims(MintRequest{Kind: Buildkite, Claims: map[string]any{"pipeline_slug": "app", "build_tag": "v1.0", "build_branch": "v1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "organization:keyless-dev:pipeline:app:ref:refs/tags/v1.0:commit:4c4e3b1a9d0f5e6a7b8c9d0e1f2a3b4c5d6e7f80:step:sign"; bk["sub"] != want {
		t.Errorf("buildkite sub = %v, want %s", bk["sub"], want)
	}
	cc, err := iss.Claims(MintRequest{Kind: CircleCI, Claims: map[string]any{"oidc.circleci.com/vcs-origin": "github.com/acme/app"}})
	if err != nil {
		t.Fatal(err)
	}
	if sub, _ := cc["sub"].(string); !strings.HasSuffix(sub, "/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main") {
		t.Errorf("circleci sub = %v", cc["sub"])
	}
}

func TestMintOverrides(t *testing.T) {
	iss, _ := newTestIssuer(t)
	ttl := -30
	c, err := iss.Claims(MintRequest{
		Kind:           Kubernetes,
		Claims:         map[string]any{"sub": "system:serviceaccount:prod:deployer", "jti": nil},
		TTLSeconds:     &ttl,
		IssuerOverride: "https://evil.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c["jti"]; ok {
		t.Error("jti not deleted")
	}
	if c["iss"] != "https://evil.example" {
		t.Errorf("iss = %v", c["iss"])
	}
	if exp := c["exp"].(int64); exp >= time.Now().Unix() {
		t.Errorf("exp %d not in the past", exp)
	}
	k8s := c["kubernetes.io"].(map[string]any)
	if k8s["namespace"] != "prod" || k8s["serviceaccount"].(map[string]any)["name"] != "deployer" {
		t.Errorf("kubernetes.io not derived from sub: %v", k8s)
	}
	if _, err := iss.Claims(MintRequest{Kind: "jenkins"}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestHTTP(t *testing.T) {
	iss, srv := newTestIssuer(t)
	resp, err := http.Get(srv.URL + "/gitlab/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc["issuer"] != iss.IssuerURL(GitLab) || disc["jwks_uri"] != iss.IssuerURL(GitLab)+"/jwks" {
		t.Errorf("discovery: %v", disc)
	}

	resp, err = http.Post(srv.URL+"/mint", "application/json", strings.NewReader(`{"kind":"github","audience":"other","claims":{"actor":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mint: %s %s", resp.Status, body)
	}
	c := verify(t, &iss.key.PublicKey, string(body))
	if c["aud"] != "other" || c["actor"] != nil {
		t.Errorf("mint claims %v", c)
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/github-runner/token?api-version=2.0&fail=503&audience=sigstore", nil)
	req.Header.Set("Authorization", "Bearer req-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("fail=503: got %s", resp.Status)
	}
}
