package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// echoingRegistry serves an in-memory registry behind Basic auth that
// answers every upload with 403 and the request's Authorization header in
// its body, as some registries do. It returns the host and the digest
// reference of a pushed image.
func echoingRegistry(t *testing.T) (host, ref string) {
	t.Helper()
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "" && r.Header.Get("X-Test-Push") == "":
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") && auth != "":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": "denied for Authorization: " + auth}}})
		default:
			r.Header.Del("Authorization")
			inner.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	push := remote.WithTransport(headerTransport{"X-Test-Push", "1"})
	if err := remote.Write(tag, img, push); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, host + "/app@" + d.String()
}

type headerTransport [2]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h[0], h[1])
	return http.DefaultTransport.RoundTrip(r)
}

// githubToken is a GitHub-shaped identity token (unsigned: nothing here
// checks its signature) with audience sigstore.
func githubToken(t *testing.T) string {
	t.Helper()
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r:ref:refs/heads/main", "aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix(), "job_workflow_ref": "o/r/.github/workflows/release.yml@refs/heads/main",
	})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("signature"))
}

// TestRegistryEchoesCredentials runs keyless as a GitHub step against a
// registry that echoes the request's Authorization header in its 403
// body: no password, token or base64 form of them reaches any channel,
// and the runner is told to mask the base64 user:password.
func TestRegistryEchoesCredentials(t *testing.T) {
	_, ref := echoingRegistry(t)
	const password, githubTok = "registry-pass-7f3a9c", "ghs_job-token-51b2d8e4"
	basic := base64.StdEncoding.EncodeToString([]byte("ci-bot:" + password))
	work := t.TempDir()
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
		"GITHUB_WORKSPACE": work, "GITHUB_TOKEN": githubTok,
		"INPUT_IMAGES": ref, "INPUT_DRY-RUN": "true", "INPUT_IDENTITY-TOKEN": githubToken(t),
		"INPUT_TRUSTED-ROOT": "../conformance/testdata/trusted_root.json", "INPUT_SIGNING-CONFIG": "../conformance/testdata/signing_config.json",
		"INPUT_REGISTRY-USERNAME": "ci-bot", "INPUT_REGISTRY-PASSWORD": password,
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"sign"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code != exitInput || !strings.Contains(stderr.String(), "cannot push signatures") || !strings.Contains(stderr.String(), "DENIED") {
		t.Fatalf("exit %d, want %d and the registry's refusal\nstdout:\n%s\nstderr:\n%s", code, exitInput, stdout.String(), stderr.String())
	}
	var text strings.Builder
	for _, line := range strings.Split(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			text.WriteString(line + "\n")
		}
	}
	text.WriteString(stderr.String())
	files, _ := os.ReadDir(work)
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(work, f.Name()))
		text.Write(b)
	}
	for _, s := range []string{password, basic, base64.RawStdEncoding.EncodeToString([]byte(password)), githubTok, base64.RawStdEncoding.EncodeToString([]byte(githubTok))} {
		if strings.Contains(text.String(), s) {
			t.Errorf("secret %.10s… leaked:\n%s", s, text.String())
		}
	}
	for _, s := range []string{password, basic, githubTok} {
		if !strings.Contains(stdout.String(), "::add-mask::"+s+"\n") {
			t.Errorf("secret %.10s… was not masked", s)
		}
	}
}
