package job

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/verify"
)

// TestResultOK: a run passes when it has subjects and each has no error
// and, when verified, at least one verification, all of them passing.
func TestResultOK(t *testing.T) {
	pass, fail := verify.Result{Verified: true}, verify.Result{}
	tests := []struct {
		name     string
		subjects []Subject
		verified bool
		want     bool
	}{
		{"no subjects", nil, false, false},
		{"signed", []Subject{{}}, false, true},
		{"signed, not verified", []Subject{{}}, true, false},
		{"verified", []Subject{{Verifications: []verify.Result{pass, pass}}}, true, true},
		{"one format failed", []Subject{{Verifications: []verify.Result{pass, fail}}}, true, false},
		{"one subject failed to sign", []Subject{{}, {Err: errors.New("denied")}}, false, false},
		{"an error fails a verified subject", []Subject{{Verifications: []verify.Result{pass}, Err: errors.New("x")}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Subjects: tt.subjects}
			if diff := cmp.Diff(tt.want, r.ok(tt.verified)); diff != "" {
				t.Errorf("ok(%v) (-want +got):\n%s", tt.verified, diff)
			}
		})
	}
}
