package input_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/keyless-dev/keyless/internal/input"
)

// notInput says BadInput false: asking the error, not its type, decides.
type notInput struct{}

func (notInput) Error() string  { return "temporary" }
func (notInput) BadInput() bool { return false }

func TestIs(t *testing.T) {
	bad := &input.Error{Input: "timeout", Err: errors.New(`"x" is not a duration`)}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"input error", bad, true},
		{"wrapped", fmt.Errorf("reading inputs: %w", bad), true},
		{"plain", errors.New("registry down"), false},
		{"says no", notInput{}, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := input.Is(tc.err); got != tc.want {
				t.Errorf("Is(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if got, want := bad.Error(), `timeout: "x" is not a duration`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
