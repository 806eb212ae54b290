package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/retry"
)

func TestStatic(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain", "a.b.c", "a.b.c"},
		{"trimmed", "  a.b.c\n", "a.b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Static(tt.raw).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Static token mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{name: "reads and trims", path: write("tok", "\n  a.b.c \n"), want: "a.b.c"},
		{name: "empty file", path: write("empty", ""), wantErr: "is empty"},
		{name: "whitespace only", path: write("blank", " \n\t\n"), wantErr: "is empty"},
		{name: "missing file", path: filepath.Join(dir, "nope"), wantErr: "reading identity token file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := File(tt.path).Token(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("File(%s) = %q, %v; want error containing %q", tt.path, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("File token mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("missing file wraps fs.ErrNotExist", func(t *testing.T) {
		_, err := File(filepath.Join(dir, "nope")).Token(context.Background())
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v does not wrap os.ErrNotExist", err)
		}
	})
}

func TestFileReadsFreshEachCall(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	src := File(p)
	var got []string
	for _, content := range []string{"first.a.b", "second.a.b"} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok)
	}
	if diff := cmp.Diff([]string{"first.a.b", "second.a.b"}, got); diff != "" {
		t.Errorf("File tokens mismatch (-want +got):\n%s", diff)
	}
}

type request struct {
	Path, Audience, Authorization string
}

func TestGitHubActions(t *testing.T) {
	noWait := WithRetry(retry.WithBackoff(time.Millisecond, time.Millisecond), retry.WithAttempts(5))
	const secretBody = `{"message":"bad credentials for Bearer runner-secret"}`
	tests := []struct {
		name          string
		status        int
		body          string
		want          string
		wantStatus    int
		wantTemporary bool
		wantErr       string
		attempts      int // requests made: temporary failures are retried
	}{
		{name: "ok", status: 200, body: `{"value":"eyJ.token.sig"}`, want: "eyJ.token.sig", attempts: 1},
		{name: "500 is temporary", status: 500, body: secretBody, wantStatus: 500, wantTemporary: true, attempts: 5},
		{name: "429 is temporary", status: 429, body: secretBody, wantStatus: 429, wantTemporary: true, attempts: 5},
		{name: "403 is permanent", status: 403, body: secretBody, wantStatus: 403, attempts: 1},
		{name: "empty token", status: 200, body: `{"value":""}`, wantErr: "empty token", attempts: 1},
		{name: "not JSON", status: 200, body: `<html>`, wantErr: "requesting token from the GitHub runner", attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = append(got, request{Path: r.URL.Path, Audience: r.URL.Query().Get("audience"), Authorization: r.Header.Get("Authorization")})
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			env := map[string]string{
				"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/_apis/token?api-version=2.0",
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-secret",
			}
			tok, err := GitHubActions(func(k string) string { return env[k] }, srv.Client(), noWait).Token(context.Background())

			var want []request
			for range tt.attempts {
				want = append(want, request{Path: "/_apis/token", Audience: "sigstore", Authorization: "Bearer runner-secret"})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantStatus != 0:
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("Token() = %q, %v; want *StatusError", tok, err)
				}
				if diff := cmp.Diff(&StatusError{Service: "GitHub OIDC token endpoint", StatusCode: tt.wantStatus}, se); diff != "" {
					t.Errorf("StatusError mismatch (-want +got):\n%s", diff)
				}
				if se.Temporary() != tt.wantTemporary {
					t.Errorf("Temporary() = %v, want %v", se.Temporary(), tt.wantTemporary)
				}
				for _, leak := range []string{"bad credentials", "runner-secret"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error %q contains response body or credential %q", err, leak)
					}
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Token() = %q, %v; want error containing %q", tok, err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, tok); diff != "" {
					t.Errorf("token mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestGitHubActionsNoPermission(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no env", map[string]string{}},
		{"no request token", map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/x"}},
		{"no request url", map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				t.Errorf("unexpected request to %s", r.URL)
				return nil, errors.New("no network")
			})}
			_, err := GitHubActions(func(k string) string { return tt.env[k] }, client).Token(context.Background())
			if !errors.Is(err, ErrNoGitHubPermission) {
				t.Errorf("error = %v, want ErrNoGitHubPermission", err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestStatusErrorTemporary(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false},
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			e := &StatusError{Service: "svc", StatusCode: tt.code}
			if got := e.Temporary(); got != tt.want {
				t.Errorf("Temporary() for %d = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}
