package callerr

// Protocol error codes (call-registry.md ERR-R1, call-protocol.md §7.1). The strings are part of
// the wire format: never rename or reuse one. Operation domain codes are defined by the operations
// that return them and must not reuse these strings (CALLP-R54).
const (
	// NotFound: no such operation, or an Internal operation called from the wire.
	NotFound = "NOT_FOUND"
	// Forbidden: the token did not resolve, the access check denied the caller, or the caller's
	// credentials were revoked while the request ran.
	Forbidden = "FORBIDDEN"
	// InvalidInput: the input failed the operation's schema, or call.requested was malformed.
	InvalidInput = "INVALID_INPUT"
	// Internal: a failure the caller cannot fix; see §7.1 for the retryable variants.
	Internal = "INTERNAL"
	// Timeout: a deadline passed. The only code retryable by default.
	Timeout = "TIMEOUT"
	// InvalidOperationType: wrong dispatch path for the operation's type.
	InvalidOperationType = "INVALID_OPERATION_TYPE"
)

// Codes lists every protocol code in a fixed order, for tables and tests.
func Codes() []string {
	return []string{NotFound, Forbidden, InvalidInput, Internal, Timeout, InvalidOperationType}
}

// IsProtocolCode reports whether code is one of the six protocol codes.
func IsProtocolCode(code string) bool {
	switch code {
	case NotFound, Forbidden, InvalidInput, Internal, Timeout, InvalidOperationType:
		return true
	}
	return false
}
