// Package alkerr defines the stable error codes of alknet-core and the coded error type
// every core package returns (CORE-R010, CORE-R011).
//
// A code is a short upper-snake-case string such as "CONFIG_INVALID". Codes are sent on
// the wire, printed by the CLI's --json output and mapped to exit codes, so they are never
// renamed or reused. Errors carrying the same code match each other with errors.Is,
// wherever they were created.
package alkerr

import "errors"

// Code is a stable failure identifier. Never rename or reuse one.
type Code string

// Error is a coded error. Message is safe to show to an operator; it never contains
// secret material (tokens, keys, hashes of secrets, plaintext credentials). Err is the
// optional local cause.
type Error struct {
	Code    Code
	Message string
	Err     error // optional cause
}

// Error returns "CODE: message" followed by ": cause" when a cause is set.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so errors.Is and errors.As reach it.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code. It makes
// errors.Is(err, pkg.ErrX) match any *Error carrying ErrX's code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorCode returns the code as a string; it implements Coded.
func (e *Error) ErrorCode() string { return string(e.Code) }

// Coded is implemented by every error type that crosses a module boundary
// (alkerr.Error, the call module's errors, the vault's errors, ...).
type Coded interface{ ErrorCode() string }

// New returns an error with the given code and operator-safe message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Wrap returns an error with the given code and message whose cause is cause.
func Wrap(code Code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// CodeOf returns the code of the first error in err's chain that implements Coded, or ""
// when there is none (CORE-R011).
func CodeOf(err error) Code {
	var c Coded
	if errors.As(err, &c) {
		return Code(c.ErrorCode())
	}
	return ""
}
