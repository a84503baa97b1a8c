package client

import (
	"context"

	"github.com/alknet/alknet/alknet-call/registry"
)

// OperationAdapter turns something outside the registry into registrations (call-registry.md
// §19). Import produces leaf registrations — provenance of the adapter, no authority, no scope,
// Internal unless the assembly layer decides otherwise (ADPT-R1); it registers nothing. Errors are
// *[AdapterError].
type OperationAdapter interface {
	Import(ctx context.Context) ([]*registry.HandlerRegistration, error)
}

// AdapterErrorKind classifies an [AdapterError] (ADPT-R2). The set may grow: switch with
// errors.Is against the sentinels and keep a default branch.
type AdapterErrorKind uint8

// Kinds of [AdapterError].
const (
	DiscoveryFailed   AdapterErrorKind = iota + 1 // remote unreachable or a discovery call failed
	SchemaParse                                   // a spec or schema could not be parsed or compiled
	Transport                                     // the connection or the request's stream failed
	Unauthorized                                  // the remote rejected our identity (FORBIDDEN)
	SamePeerCollision                             // one peer yields two operations with the same local name
)

// String returns the kind text of ADPT-R2.
func (k AdapterErrorKind) String() string {
	switch k {
	case DiscoveryFailed:
		return "discovery failed"
	case SchemaParse:
		return "schema parse error"
	case Transport:
		return "transport error"
	case Unauthorized:
		return "unauthorized"
	case SamePeerCollision:
		return "same-peer collision"
	}
	return "adapter error"
}

// code returns the stable error code of the kind (CORE-R011).
func (k AdapterErrorKind) code() string {
	switch k {
	case DiscoveryFailed:
		return CodeAdapterDiscoveryFailed
	case SchemaParse:
		return CodeAdapterSchemaParse
	case Transport:
		return CodeAdapterTransport
	case Unauthorized:
		return CodeAdapterUnauthorized
	case SamePeerCollision:
		return CodeAdapterSamePeerCollision
	}
	return "ADAPTER_ERROR"
}

// Stable error codes of the adapter errors (docs/errors.md). Never rename or reuse one.
const (
	CodeAdapterDiscoveryFailed   = "ADAPTER_DISCOVERY_FAILED"
	CodeAdapterSchemaParse       = "ADAPTER_SCHEMA_PARSE"
	CodeAdapterTransport         = "ADAPTER_TRANSPORT"
	CodeAdapterUnauthorized      = "ADAPTER_UNAUTHORIZED"
	CodeAdapterSamePeerCollision = "ADAPTER_SAME_PEER_COLLISION"
)

// Codes returns every stable code of this package.
func Codes() []string {
	return []string{CodeAdapterDiscoveryFailed, CodeAdapterSchemaParse, CodeAdapterTransport,
		CodeAdapterUnauthorized, CodeAdapterSamePeerCollision}
}

// AdapterError is the failure of an import (§19). Op names the offending operation, if any;
// Err is the cause, reachable with errors.Is and errors.As.
type AdapterError struct {
	Kind    AdapterErrorKind
	Op      string
	Message string
	Err     error
}

// Error returns "<kind text>: <message>" (ADPT-R2).
func (e *AdapterError) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + msg
}

// ErrorCode returns "ADAPTER_" and the kind in upper snake case, e.g. ADAPTER_SCHEMA_PARSE.
func (e *AdapterError) ErrorCode() string { return e.Kind.code() }

// Unwrap returns the cause.
func (e *AdapterError) Unwrap() error { return e.Err }

// Is matches the sentinels by kind: errors.Is(err, ErrSchemaParse) holds for every SchemaParse
// error.
func (e *AdapterError) Is(target error) bool {
	t, ok := target.(*AdapterError)
	return ok && t.Kind == e.Kind
}

// Sentinels for errors.Is, one per kind.
var (
	ErrDiscoveryFailed   = &AdapterError{Kind: DiscoveryFailed}
	ErrSchemaParse       = &AdapterError{Kind: SchemaParse}
	ErrTransport         = &AdapterError{Kind: Transport}
	ErrUnauthorized      = &AdapterError{Kind: Unauthorized}
	ErrSamePeerCollision = &AdapterError{Kind: SamePeerCollision}
)

// adapterErr builds an AdapterError.
func adapterErr(kind AdapterErrorKind, op, msg string, cause error) *AdapterError {
	if op != "" && msg != "" {
		msg = "operation " + op + ": " + msg
	}
	return &AdapterError{Kind: kind, Op: op, Message: msg, Err: cause}
}
