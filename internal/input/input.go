// Package input marks the errors that are the user's to fix: bad input or
// configuration, exit status 2, nothing written. Any package's error can
// say so with a BadInput method, the way ggcr's errors say Temporary; Error
// is the common case of one named input.
package input

import (
	"errors"
	"fmt"
)

// Error is an input that cannot be used.
type Error struct {
	// Input names the input to fix, as the user wrote it (e.g. "timeout").
	Input string
	// Err says what is wrong with it and how to fix it.
	Err error
}

// Error returns the message.
func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Input, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// BadInput reports that the user must fix the input: exit status 2.
func (e *Error) BadInput() bool { return true }

// Is reports whether err, or any error it wraps, is bad input.
func Is(err error) bool {
	var bad interface{ BadInput() bool }
	return errors.As(err, &bad) && bad.BadInput()
}
