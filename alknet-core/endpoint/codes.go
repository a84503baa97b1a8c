package endpoint

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of this package; errors.Is matches any error carrying the same code.
var (
	// ErrBindFailed reports that the UDP socket could not be bound (BIND_FAILED).
	ErrBindFailed = alkerr.New(alkerr.CodeBindFailed, "bind failed")
	// ErrClosed is returned by Serve after shutdown or on a second call (ENDPOINT_CLOSED), and
	// is the cause of the handler context's cancellation at shutdown (CORE-R416).
	ErrClosed = alkerr.New(alkerr.CodeEndpointClosed, "endpoint closed")
)

// codes lists the codes this package returns; a test checks each appears in docs/errors.md.
var codes = []alkerr.Code{
	alkerr.CodeBindFailed,
	alkerr.CodeEndpointClosed,
	alkerr.CodeConfigInvalid,
}

// QUIC application close codes used by the endpoint (core.md §6). Values 0x00–0xff are
// reserved for core; handlers use codes ≥ 0x100. The numbers never change once released, and
// peers treat them as diagnostics only (CORE-R601).
const (
	CloseNormal        uint64 = 0x00 // handler finished or a transport error ended it; ACME challenge
	CloseNoHandler     uint64 = 0x01 // no handler for the negotiated ALPN
	CloseShutdown      uint64 = 0x02 // endpoint shutting down
	CloseAuthRequired  uint64 = 0x03 // handler returned auth.ErrAuthRequired, or credentials revoked
	CloseInternalError uint64 = 0x04 // unexpected handler error or panic
	CloseRateLimited   uint64 = 0x05 // per-IP connection limit exceeded
)

// CloseReason returns the fixed reason string sent with an endpoint close code, and "" for a
// code the endpoint does not use. Nothing else is ever put in a close reason (CORE-R206).
func CloseReason(code uint64) string {
	switch code {
	case CloseNormal:
		return "done"
	case CloseNoHandler:
		return "no handler"
	case CloseShutdown:
		return "shutdown"
	case CloseAuthRequired:
		return "authentication required"
	case CloseInternalError:
		return "internal error"
	case CloseRateLimited:
		return "too many connections"
	}
	return ""
}
