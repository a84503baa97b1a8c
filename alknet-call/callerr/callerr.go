package callerr

import (
	"encoding/json"
	"errors"
	"fmt"
)

// CallError is a coded failure of one request. Code, Message, Retryable and Details are what a
// call.error payload carries (call-protocol.md §6.5); the cause attached with [CallError.WithCause]
// is local only and never serialised.
//
// Message is safe to send to the remote peer: it never contains secrets, input values, tokens or Go
// error strings from handlers (CALLP-R186). A *CallError is immutable once shared: WithDetails and
// WithCause return copies, so package-level values may be used from many goroutines.
type CallError struct {
	Code      string          // wire "code": a protocol code or an operation domain code
	Message   string          // wire "message": human-readable, never parsed by programs
	Retryable bool            // wire "retryable": advice from the handler side
	Details   json.RawMessage // wire "details": one JSON value, or nil when absent
	cause     error           // local only
}

// New returns a CallError with the given code and message. Retryable is true exactly when code is
// [Timeout], the only protocol code that is retryable by default (call-protocol.md §0.1 fact 9);
// set the field on the result to change it.
func New(code, msg string) *CallError {
	return &CallError{Code: code, Message: msg, Retryable: code == Timeout}
}

// Error returns "CODE: message", followed by ": cause" when a local cause is attached. The text is
// for local logs; the wire carries Code and Message only.
func (e *CallError) Error() string {
	if e.cause == nil {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Message + ": " + e.cause.Error()
}

// ErrorCode returns e.Code, so alkerr.CodeOf finds it (CORE-R011).
func (e *CallError) ErrorCode() string { return e.Code }

// Unwrap returns the local cause (nil when none), for errors.Is and errors.As.
func (e *CallError) Unwrap() error { return e.cause }

// Is makes errors.Is(err, target) hold for any *CallError target with the same Code, so a
// package-level value such as a NOT_FOUND template matches every NOT_FOUND error.
func (e *CallError) Is(target error) bool {
	t, ok := target.(*CallError)
	return ok && t != nil && t.Code == e.Code
}

// WithCause returns a copy of e with err as its local cause. e is not modified.
func (e *CallError) WithCause(err error) *CallError {
	c := *e
	c.cause = err
	return &c
}

// WithDetails returns a copy of e whose Details are v marshalled as JSON. A json.RawMessage or
// []byte is taken as already-encoded JSON and must be valid. It panics when v cannot be encoded:
// details are built by program code, so a failure is a programmer error. e is not modified.
func (e *CallError) WithDetails(v any) *CallError {
	var raw json.RawMessage
	switch d := v.(type) {
	case json.RawMessage:
		raw = append(json.RawMessage(nil), d...)
	case []byte:
		raw = append(json.RawMessage(nil), d...)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("callerr: details of %s cannot be encoded: %v", e.Code, err))
		}
		raw = b
	}
	if !json.Valid(raw) {
		panic(fmt.Sprintf("callerr: details of %s are not valid JSON", e.Code))
	}
	c := *e
	c.Details = raw
	return &c
}

// ErrAborted is the cancellation cause of a request that the other side cancelled (a received
// call.aborted), and the result of a request whose abort came back up a forwarding chain. It is
// not a CallError: it has no wire code (call-protocol.md §7.3). The registry returns it unchanged
// (call-registry.md ERR-R2 cases 6 and 7) and the protocol engine answers it with call.aborted.
var ErrAborted = errors.New("alknet/call: request aborted")

// ErrRevoked is the cancellation cause used when the caller's credentials are revoked while its
// requests run (DSP-R5, CALLP-R124). Edges answer it as FORBIDDEN "credentials revoked",
// retryable false (ERR-R5).
var ErrRevoked = errors.New("alknet/call: caller credentials revoked")
