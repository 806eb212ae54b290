package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// echoingProxy fronts the stack's registry with Basic auth and answers
// every blob upload with 403 and the request's Authorization header in
// the error message, as some registries do. It returns the proxy's host.
func echoingProxy(t *testing.T) string {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: stk.Registry})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "":
			w.Header().Set("WWW-Authenticate", `Basic realm="keyless-e2e"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": "no push for Authorization: " + auth}}})
		default:
			r.Header.Del("Authorization")
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestRegistryEchoLeaksNothing signs through a registry that echoes the
// request's credentials in its 403 body, on GitHub (registry-password) and
// on GitLab (the CI registry login): the run fails, says the registry
// refused, and no password, token or base64 form of them appears in
// stdout, stderr, the outputs (GitHub's result holds the report), the
// summary or any file; GitHub is told to mask base64(user:password).
func TestRegistryEchoLeaksNothing(t *testing.T) {
	host := echoingProxy(t)
	img := pushImage(t)
	img = host + img[strings.Index(img, "/"):]
	const password, githubToken, jobToken = "registry-secret-8d41c7e2", "ghs_github-token-5e0a9b13", "glcbt-job-token-c4f27a90"
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		basic string // the user:password of the Basic header
	}{
		{"github", merge(githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{
			"images": img, "registry-username": "ci-bot", "registry-password": password,
		})), map[string]string{"GITHUB_TOKEN": githubToken}), nil, "ci-bot:" + password},
		{"gitlab", gitlabEnv(map[string]string{
			"KEYLESS_IMAGES": img, "KEYLESS_TRUSTED_ROOT": stk.TrustedRoot, "KEYLESS_SIGNING_CONFIG": stk.SigningConfig,
			"CI_REGISTRY": host, "CI_REGISTRY_PASSWORD": password, "CI_JOB_TOKEN": jobToken,
		}, mint(t, "gitlab")), []string{"sign"}, "gitlab-ci-token:" + password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runKeyless(t, tc.env, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, "DENIED") {
				t.Fatalf("exit %d, want 1 with the registry's refusal\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			basic := base64.StdEncoding.EncodeToString([]byte(tc.basic))
			b64 := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
			assertNoToken(t, r, password, basic, b64(password), githubToken, b64(githubToken), jobToken, b64(jobToken))
			if tc.name == "github" {
				assertMasked(t, r, password, basic, githubToken)
				if !strings.Contains(r.outputs["result"], "DENIED") || !strings.Contains(r.summary, "DENIED") {
					t.Errorf("the result output or the summary does not say the registry refused:\n%s\n%s", r.outputs["result"], r.summary)
				}
			} else if !strings.Contains(r.files["keyless/report.json"], "DENIED") {
				t.Errorf("report.json does not say the registry refused:\n%s", r.files["keyless/report.json"])
			}
		})
	}
}
