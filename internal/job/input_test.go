package job

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestIsInput checks that the input errors of every package are known by
// their BadInput behaviour, however deeply wrapped, and keep their messages.
func TestIsInput(t *testing.T) {
	cause := errors.New("cause")
	for _, tc := range []struct {
		name    string
		err     error
		input   bool
		message string
	}{
		{"job", &InputError{Input: "timeout", Err: cause}, true, "timeout: cause"},
		{"registry", &registry.InputError{Ref: "app", Err: cause}, true, `image "app": cause`},
		{"trust", &trust.InputError{Input: "trusted-root", Err: cause}, true, "trusted-root: cause"},
		{"verify", &verify.PolicyError{Input: "certificate-identity", Err: cause}, true, "certificate-identity: cause"},
		{"oidc preflight", &oidc.PreflightError{Reason: "expired", Fix: "mint"}, true, "expired: mint"},
		{"GitHub permission", oidc.ErrNoGitHubPermission, true, oidc.ErrNoGitHubPermission.Error()},
		{"wrapped", fmt.Errorf("signing: %w", &trust.InputError{Input: "signing-config", Err: cause}), true, "signing: signing-config: cause"},
		{"joined", errors.Join(cause, &registry.InputError{Ref: "x", Err: cause}), true, "cause\nimage \"x\": cause"},
		{"plain", cause, false, "cause"},
		{"deadline", fmt.Errorf("pushing: %w", context.DeadlineExceeded), false, "pushing: context deadline exceeded"},
		{"nil", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsInput(tc.err); got != tc.input {
				t.Errorf("IsInput(%v) = %v, want %v", tc.err, got, tc.input)
			}
			if tc.err == nil {
				return
			}
			if diff := cmp.Diff(tc.message, tc.err.Error()); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
