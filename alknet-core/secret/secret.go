// Package secret holds outbound credentials so that they cannot leak by accident
// (core.md §13, §14).
//
// A Secret prints, logs and formats as "[REDACTED]" and refuses JSON and text
// marshalling. Capabilities is an immutable set of Secrets keyed by service, handed to
// operation handlers by the assembly layer; it prints only its entry count.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
)

// Redacted is the marker printed in place of secret material, in every module.
const Redacted = "[REDACTED]"

// ErrNotSerializable is returned by the JSON and text marshallers of Secret and
// Capabilities.
var ErrNotSerializable = errors.New("secret: not serializable")

// Secret holds sensitive bytes. String, GoString, Format, LogValue, MarshalJSON and
// MarshalText never reveal them ("[REDACTED]"; JSON and text marshalling return
// ErrNotSerializable). The zero value is the empty secret.
//
// Copies of a Secret value share its storage: Destroy on any copy zeroes the bytes seen
// by every copy (CORE-R1304). The bytes are reachable only through a function value,
// which fmt and reflection print as an address, so no verb applied to a struct holding a
// Secret, even in an unexported field, reveals them (CORE-R1404).
type Secret struct {
	ref func() *value // nil for the zero value
}

type value struct {
	b []byte
}

// NewSecret returns a Secret holding a copy of s.
func NewSecret(s string) Secret { return newSecret([]byte(s)) }

// newSecret takes ownership of b.
func newSecret(b []byte) Secret {
	v := &value{b: b}
	return Secret{ref: func() *value { return v }}
}

// val returns the shared storage, or nil for the zero value.
func (s Secret) val() *value {
	if s.ref == nil {
		return nil
	}
	return s.ref()
}

// FromBytes returns a Secret holding a copy of b; the caller may wipe b afterwards
// (CORE-R706).
func FromBytes(b []byte) Secret {
	return newSecret(append([]byte(nil), b...))
}

// Expose returns the secret as a new string. Strings cannot be wiped, so keep the result
// only as long as it is needed.
func (s Secret) Expose() string {
	if v := s.val(); v != nil {
		return string(v.b)
	}
	return ""
}

// Bytes returns a copy of the secret bytes, which the caller may wipe.
func (s Secret) Bytes() []byte {
	if v := s.val(); v != nil && v.b != nil {
		return append([]byte(nil), v.b...)
	}
	return nil
}

// Len returns the length of the secret in bytes. The length is not considered secret.
func (s Secret) Len() int {
	if v := s.val(); v != nil {
		return len(v.b)
	}
	return 0
}

// IsZero reports whether s holds no bytes (the zero value, an empty secret, or a
// destroyed one).
func (s Secret) IsZero() bool { return s.Len() == 0 }

// Destroy zeroes the secret bytes for every copy of s and empties it. Zeroing is best
// effort: strings returned by Expose are not affected.
func (s *Secret) Destroy() {
	if v := s.val(); v != nil {
		clear(v.b)
		v.b = nil
	}
}

// String returns "[REDACTED]".
func (Secret) String() string { return Redacted }

// GoString returns "[REDACTED]".
func (Secret) GoString() string { return Redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns "[REDACTED]", so slog attributes never carry the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON refuses to encode the secret.
func (Secret) MarshalJSON() ([]byte, error) { return nil, ErrNotSerializable }

// MarshalText refuses to encode the secret.
func (Secret) MarshalText() ([]byte, error) { return nil, ErrNotSerializable }
