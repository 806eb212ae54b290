package secret

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	const pass = `p<a&s>s"w0rd`
	basic := base64.StdEncoding.EncodeToString([]byte("bot:" + pass))
	jsonText, _ := json.Marshal(map[string]string{"error": "denied for " + pass})
	for _, tc := range []struct {
		name, text, want string
	}{
		{"plain", "login with " + pass + " failed", "login with *** failed"},
		{"basic header", "Authorization: Basic " + basic, "Authorization: Basic ***"},
		{"base64 of the password", "x " + base64.StdEncoding.EncodeToString([]byte(pass)), "x ***"},
		{"base64url of the password", "x " + base64.RawURLEncoding.EncodeToString([]byte(pass)), "x ***"},
		{"JSON-escaped", string(jsonText), `{"error":"denied for ***"}`},
		{"token", "Bearer tok-0123456789", "Bearer ***"},
		{"nothing secret", "all fine", "all fine"},
		{"short secrets are left", "abc", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(nil)
			s.AddBasic("bot", pass)
			s.Add("tok-0123456789", "abc", "")
			if diff := cmp.Diff(tc.want, s.Redact(tc.text)); diff != "" {
				t.Errorf("Redact mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskedOnce(t *testing.T) {
	var masked []string
	s := New(func(v string) { masked = append(masked, v) })
	s.AddBasic("bot", "hunter22")
	s.Add("hunter22")
	want := []string{
		"hunter22", base64.RawStdEncoding.EncodeToString([]byte("hunter22")),
		base64.StdEncoding.EncodeToString([]byte("bot:hunter22")),
	}
	if diff := cmp.Diff(want, masked); diff != "" {
		t.Errorf("masked mismatch (-want +got):\n%s", diff)
	}
}

func TestWriter(t *testing.T) {
	s := New(nil)
	s.Add("s3cr3t-value")
	var b strings.Builder
	w := s.Writer(&b)
	n, err := io.WriteString(w, "token s3cr3t-value\n")
	if err != nil || n != len("token s3cr3t-value\n") {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if diff := cmp.Diff("token ***\n", b.String()); diff != "" {
		t.Errorf("written mismatch (-want +got):\n%s", diff)
	}
}

// TestTransport sends requests to a registry that echoes the request's
// Authorization header in its 403 body: the body that reaches the caller
// holds no credential, and the credentials sent were added to the set.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			_, _ = io.WriteString(w, "ok "+r.Header.Get("Authorization"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"denied: `+r.Header.Get("Authorization")+`"}]}`)
	}))
	defer srv.Close()
	var mu sync.Mutex
	var masked []string
	s := New(func(v string) { mu.Lock(); masked = append(masked, v); mu.Unlock() })
	client := &http.Client{Transport: s.Transport(nil)}
	basic := base64.StdEncoding.EncodeToString([]byte("bot:registry-pass"))
	for _, tc := range []struct {
		name, path, auth, want string
	}{
		{"basic echoed in a 403", "/v2/", "Basic " + basic, `{"errors":[{"code":"DENIED","message":"denied: Basic ***"}]}`},
		{"bearer echoed in a 403", "/v2/", "Bearer registry-bearer-token", `{"errors":[{"code":"DENIED","message":"denied: Bearer ***"}]}`},
		{"a success is not touched", "/ok", "Bearer registry-bearer-token", "ok Bearer registry-bearer-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			req.Header.Set("Authorization", tc.auth)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, v := range []string{basic, "registry-pass", "registry-bearer-token"} {
		if got := s.Redact(v); got != Redacted {
			t.Errorf("credential %q sent was not added: Redact = %q", v, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, v := range []string{basic, "registry-pass", "registry-bearer-token"} {
		found := false
		for _, m := range masked {
			found = found || m == v
		}
		if !found {
			t.Errorf("credential %q was not masked", v)
		}
	}
}
