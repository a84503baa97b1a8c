package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
)

// redacted is the marker printed in place of credential bytes (CORE-R1401).
const redacted = "[REDACTED]"

// errTokenNotSerializable is returned by AuthToken's marshallers.
var errTokenNotSerializable = errors.New("auth token: not serializable")

// AuthToken is an opaque credential taken from a protocol frame or header. fmt, slog,
// JSON and text encoding never reveal its bytes. The zero value is the empty token.
//
// The bytes are reachable only through a function value, which fmt prints as an address,
// so a struct holding an AuthToken, even in an unexported field, never prints them
// (CORE-R1404).
type AuthToken struct {
	ref func() []byte // nil for the zero value
}

// NewAuthToken returns a token holding a copy of b; the caller may wipe b afterwards
// (CORE-R706).
func NewAuthToken(b []byte) AuthToken {
	raw := append([]byte(nil), b...)
	return AuthToken{ref: func() []byte { return raw }}
}

// Bytes returns a copy of the token bytes.
func (t AuthToken) Bytes() []byte {
	if t.ref == nil {
		return nil
	}
	return append([]byte(nil), t.ref()...)
}

// bytes returns the token bytes without copying, for resolution inside this package.
func (t AuthToken) bytes() []byte {
	if t.ref == nil {
		return nil
	}
	return t.ref()
}

// Len returns the token length in bytes.
func (t AuthToken) Len() int { return len(t.bytes()) }

// String returns "[REDACTED]".
func (AuthToken) String() string { return redacted }

// GoString returns "[REDACTED]".
func (AuthToken) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (AuthToken) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "[REDACTED]".
func (AuthToken) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses to encode the token.
func (AuthToken) MarshalJSON() ([]byte, error) { return nil, errTokenNotSerializable }

// MarshalText refuses to encode the token.
func (AuthToken) MarshalText() ([]byte, error) { return nil, errTokenNotSerializable }

// AuthContext is what the endpoint knows before the handler runs (CORE-R910). It is
// passed by value and never mutated (CORE-R911); Identity may be nil, and handlers
// resolve protocol-level credentials themselves.
type AuthContext struct {
	Identity             *Identity // nil: nothing resolved at the TLS layer
	ALPN                 string
	RemoteAddr           net.Addr // nil when unknown
	TLSClientFingerprint string   // "" when no client certificate was presented
}

// Anonymous returns the AuthContext of a connection with no resolved identity and no
// client certificate.
func Anonymous(alpn string, remote net.Addr) AuthContext {
	return AuthContext{ALPN: alpn, RemoteAddr: remote}
}
