package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/keyless-dev/keyless/internal/retry"
)

// SourceFunc gets a raw identity token each time it is called.
type SourceFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f SourceFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Static returns a source for a token given as a value.
func Static(raw string) SourceFunc {
	return SourceFunc(func(context.Context) (string, error) { return strings.TrimSpace(raw), nil })
}

// File returns a source that reads the token from path at every call, so a
// projected Kubernetes token that the kubelet rotates is read fresh.
func File(path string) SourceFunc {
	return SourceFunc(func(context.Context) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("reading identity token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("identity token file %s is empty", path)
		}
		return tok, nil
	})
}

// ErrNoGitHubPermission is returned when the GitHub runner offers no token:
// the job lacks the id-token: write permission.
var ErrNoGitHubPermission error = inputError("the GitHub runner offers no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set)")

// inputError is a fixed error that the user must fix: exit status 2.
type inputError string

// Error returns the message.
func (e inputError) Error() string { return string(e) }

// BadInput reports that the user must fix the input.
func (e inputError) BadInput() bool { return true }

// Option configures a token source.
type Option func(*options)

type options struct {
	retry []retry.Option
}

// WithRetry sets how a token endpoint is retried (the default is retry's).
func WithRetry(opts ...retry.Option) Option {
	return func(o *options) { o.retry = opts }
}

// GitHubActions returns a source that asks the Actions runner for a token with
// the sigstore audience.
func GitHubActions(getenv func(string) string, client *http.Client, opts ...Option) SourceFunc {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return SourceFunc(func(ctx context.Context) (string, error) {
		if getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
			return "", ErrNoGitHubPermission
		}
		a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithHTTPClient(client))
		// The runner's endpoint has brief outages: retried here (the only
		// layer: client does not retry), within the run's context.
		var tok string
		err := retry.Do(ctx, func() error {
			t, err := a.GetIDToken(ctx, Audience)
			if err != nil {
				var rf *githubactions.RequestFailedError
				if errors.As(err, &rf) {
					return &StatusError{Service: "GitHub OIDC token endpoint", StatusCode: rf.StatusCode}
				}
				return fmt.Errorf("requesting token from the GitHub runner: %w", err)
			}
			if t == "" {
				return errors.New("the GitHub runner returned an empty token")
			}
			tok = t
			return nil
		}, func(err error) bool {
			// Only a StatusError that is Temporary, or a transport error.
			var se *StatusError
			var ue *url.Error
			return errors.As(err, &se) && se.Temporary() || errors.As(err, &ue) && ctx.Err() == nil
		}, o.retry...)
		return tok, err
	})
}

// StatusError is an HTTP failure of a token endpoint. Its message leaves out
// the response body, which may echo credentials.
type StatusError struct {
	Service    string
	StatusCode int
}

// Error returns the message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d", e.Service, e.StatusCode)
}

// Temporary reports whether a retry may succeed.
func (e *StatusError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout
}

// commandOutputLimit is the most of a token command's output that is read:
// a token is a few kilobytes.
const commandOutputLimit = 1 << 20

// Command returns a source that runs a CI system's token command, such as
// buildkite-agent oidc request-token --audience sigstore, at every call
// and takes the token from its standard output. A failure names the
// command and ends with the last line of its standard error, then fix.
func Command(fix, path string, args ...string) SourceFunc {
	return SourceFunc(func(ctx context.Context) (string, error) {
		cmd := exec.CommandContext(ctx, path, args...)
		var stdout, stderr limitedBuffer
		stdout.limit, stderr.limit = commandOutputLimit, commandOutputLimit
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		name := strings.Join(append([]string{filepath.Base(path)}, args...), " ")
		if err := cmd.Run(); err != nil {
			if line := lastLine(stderr.String()); line != "" {
				err = fmt.Errorf("%w: %s", err, line)
			}
			return "", fmt.Errorf("requesting the identity token with %s: %w: %s", name, err, fix)
		}
		tok := strings.TrimSpace(stdout.String())
		if tok == "" || stdout.over {
			return "", fmt.Errorf("requesting the identity token with %s: it printed no token: %s", name, fix)
		}
		return tok, nil
	})
}

// lastLine is the last non-blank line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// limitedBuffer keeps the first limit bytes written to it and notes that
// more came.
type limitedBuffer struct {
	strings.Builder
	limit int
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.limit - b.Len(); n > room {
		b.over = true
		p = p[:max(room, 0)]
	}
	b.Builder.Write(p)
	return n, nil
}
