package conn

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of this package. Each is an [*alkerr.Error]; errors.Is matches any error
// carrying the same code, wherever it was created (CORE-R010).
var (
	// ErrConnectionClosed reports that the connection is closed, by either side, cleanly or not
	// (CONNECTION_CLOSED).
	ErrConnectionClosed = alkerr.New(alkerr.CodeConnectionClosed, "connection closed")
	// ErrStreamClosed reports that one stream ended abnormally (reset or stopped) or cannot be
	// opened on this connection (STREAM_CLOSED).
	ErrStreamClosed = alkerr.New(alkerr.CodeStreamClosed, "stream closed")
	// ErrTimeout reports an idle timeout, a handshake timeout or an expired deadline (TIMEOUT).
	ErrTimeout = alkerr.New(alkerr.CodeTimeout, "timeout")
	// ErrHalfCloseUnsupported is returned by [BiStream.CloseWrite] on a transport without a
	// half-close (UNSUPPORTED).
	ErrHalfCloseUnsupported = alkerr.New(alkerr.CodeUnsupported, "half-close not supported by this transport")
	// ErrDeadlineUnsupported is returned by the deadline setters on a transport without
	// deadlines (UNSUPPORTED).
	ErrDeadlineUnsupported = alkerr.New(alkerr.CodeUnsupported, "deadlines not supported by this transport")
	// ErrIdentityAlreadySet is returned by [Connection.SetIdentity] on every call after the
	// first successful one (IDENTITY_ALREADY_SET).
	ErrIdentityAlreadySet = alkerr.New(alkerr.CodeIdentityAlreadySet, "connection identity already set")
)

// codes lists the codes this package's sentinels carry; a test checks that each appears in
// docs/errors.md.
var codes = []alkerr.Code{
	alkerr.CodeConnectionClosed,
	alkerr.CodeStreamClosed,
	alkerr.CodeTimeout,
	alkerr.CodeUnsupported,
	alkerr.CodeIdentityAlreadySet,
}
