package protocol

import (
	"errors"
	"strings"

	"github.com/alknet/alknet/alknet-call/callerr"
)

// Errors a caller may match with errors.Is (call-protocol.md §7.3, §18.2).
var (
	// ErrAborted re-exports [callerr.ErrAborted]: the other side aborted the request.
	ErrAborted = callerr.ErrAborted
	// ErrConnectionClosed: the connection ended while the request was pending. Wrapped in an
	// INTERNAL / "connection closed" CallError with Retryable true (CALLP-R81).
	ErrConnectionClosed = errors.New("alknet/call: connection closed")
	// ErrStreamClosed: the request's stream ended or was reset before a terminal event
	// (CALLP-R80).
	ErrStreamClosed = errors.New("alknet/call: stream closed before response")
	// ErrDuplicateID: a request id is already pending on this connection (CALLP-R62).
	ErrDuplicateID = errors.New("alknet/call: request id already in flight")
	// ErrSubscriptionClosed: Next after Close (CALLP-R103).
	ErrSubscriptionClosed = errors.New("alknet/call: subscription closed")
	// ErrTooManyFramingErrors: Serve gave up on a connection whose streams kept failing to frame
	// (more than Options.MaxFramingErrors within a minute, CALLP-R161).
	ErrTooManyFramingErrors = errors.New("alknet/call: too many framing errors")
	// ErrShutdown: the cancellation cause of requests still running when the shutdown grace
	// period ends (CALLP-R82).
	ErrShutdown = errors.New("alknet/call: shutting down")
)

// Standard messages of errors the engine writes or synthesizes (call-protocol.md §7.1). They are
// stable so tests can assert them; programs switch on the code.
const (
	msgConnectionClosed = "connection closed"
	msgStreamClosed     = "stream closed before response"
	msgRequestTooLarge  = "request too large"
	msgResponseTooLarge = "response too large"
	msgShuttingDown     = "shutting down"
	msgOverloaded       = "overloaded"
	msgInternal         = "internal error"
	msgTimeout          = "request timed out"
	msgAuthFailed       = "authentication failed"
	msgRevoked          = "credentials revoked"
	msgBadInput         = "input is not valid JSON"
	msgMalformedRequest = "malformed call.requested payload: "
)

func errConnClosed() *callerr.CallError {
	e := callerr.New(callerr.Internal, msgConnectionClosed).WithCause(ErrConnectionClosed)
	e.Retryable = true
	return e
}

func errStreamClosed() *callerr.CallError {
	return callerr.New(callerr.Internal, msgStreamClosed).WithCause(ErrStreamClosed)
}

// WireName returns the wire form of an operation name: a leading "/" is added when missing
// (CALLP-R33).
func WireName(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/" + name
}

// RegistryName strips exactly one leading "/" from a wire operation name (CALLP-R33).
func RegistryName(wire string) string { return strings.TrimPrefix(wire, "/") }
