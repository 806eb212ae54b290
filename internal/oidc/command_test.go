package oidc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCommand: the token is the command's standard output, trimmed, read
// afresh at every call, with the arguments as given; a failure names the
// command, its last line of standard error and the fix.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	agent := script(t, `echo "$@" >> `+count+`
echo "  tok-$(wc -l < `+count+` | tr -d ' ')"
`)
	src := Command("the fix", agent, "oidc", "request-token", "--audience", "sigstore")
	for _, want := range []string{"tok-1", "tok-2"} {
		got, err := src.Token(context.Background())
		if err != nil || got != want {
			t.Fatalf("Token() = %q, %v; want %q", got, err, want)
		}
	}
	b, _ := os.ReadFile(count)
	if got := string(b); got != "oidc request-token --audience sigstore\noidc request-token --audience sigstore\n" {
		t.Errorf("arguments = %q", got)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"failure", "echo 'fatal: first' >&2\necho 'fatal: no OIDC for this job' >&2\nexit 3\n", "requesting the identity token with agent oidc: exit status 3: fatal: no OIDC for this job: the fix"},
		{"no token", "echo '   '\n", "requesting the identity token with agent oidc: it printed no token: the fix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Command("the fix", script(t, tc.body), "oidc").Token(context.Background())
			if err == nil || err.Error() != tc.want {
				t.Errorf("Token() error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCommandOutputLimit: a command that prints more than a token can be
// is refused, not read to the end.
func TestCommandOutputLimit(t *testing.T) {
	agent := script(t, "head -c 2000000 /dev/zero | tr '\\0' a\n")
	_, err := Command("fix", agent).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "printed no token") {
		t.Errorf("Token() error = %v, want the output refused", err)
	}
}
