package secret

import (
	"fmt"
	"log/slog"
	"maps"
	"strconv"
)

// Capabilities is an immutable set of outbound credentials keyed by service
// (CORE-R1301). The zero value is the empty set and ready to use. The With methods return
// a new value and leave the receiver unchanged, so a Capabilities value is safe to share
// between goroutines and child operations; pass it by value.
//
// Capabilities cannot be serialized, and printing or logging it shows only the number of
// credentials (CORE-R1302).
type Capabilities struct {
	ref func() *capSet // nil for the empty set; the set is never modified after construction
}

// set returns the credentials, or nil for the empty set. Like Secret, the set is reached
// through a function value so that no fmt verb can print it (CORE-R1404).
func (c Capabilities) set() *capSet {
	if c.ref == nil {
		return nil
	}
	return c.ref()
}

func wrap(n *capSet) Capabilities { return Capabilities{ref: func() *capSet { return n }} }

type capSet struct {
	apiKeys    map[string]Secret
	httpTokens map[string]Secret
}

// NewCapabilities returns the empty set; it is the same as the zero value.
func NewCapabilities() Capabilities { return Capabilities{} }

func (c Capabilities) clone() *capSet {
	n := &capSet{apiKeys: map[string]Secret{}, httpTokens: map[string]Secret{}}
	if s := c.set(); s != nil {
		maps.Copy(n.apiKeys, s.apiKeys)
		maps.Copy(n.httpTokens, s.httpTokens)
	}
	return n
}

// WithAPIKey returns a copy of c in which service's API key is key.
func (c Capabilities) WithAPIKey(service, key string) Capabilities {
	n := c.clone()
	n.apiKeys[service] = NewSecret(key)
	return wrap(n)
}

// WithHTTPToken returns a copy of c in which service's HTTP bearer token is token.
func (c Capabilities) WithHTTPToken(service, token string) Capabilities {
	n := c.clone()
	n.httpTokens[service] = NewSecret(token)
	return wrap(n)
}

// Get returns the credential for service: its API key if one is set, otherwise its HTTP
// token. The returned Secret has its own copy of the bytes, so destroying it leaves the
// shared set intact (CORE-R1304).
func (c Capabilities) Get(service string) (Secret, bool) {
	s := c.set()
	if s == nil {
		return Secret{}, false
	}
	if k, ok := s.apiKeys[service]; ok {
		return FromBytes(k.val().b), true
	}
	if t, ok := s.httpTokens[service]; ok {
		return FromBytes(t.val().b), true
	}
	return Secret{}, false
}

// Len returns the number of credentials held (API keys plus HTTP tokens).
func (c Capabilities) Len() int {
	s := c.set()
	if s == nil {
		return 0
	}
	return len(s.apiKeys) + len(s.httpTokens)
}

func (c Capabilities) summary() string {
	return "Capabilities[" + strconv.Itoa(c.Len()) + " entries " + Redacted + "]"
}

// String shows only the number of credentials.
func (c Capabilities) String() string { return c.summary() }

// GoString shows only the number of credentials.
func (c Capabilities) GoString() string { return c.summary() }

// Format writes the String form for every verb and flag.
func (c Capabilities) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.summary())) }

// LogValue logs only the number of credentials.
func (c Capabilities) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("entries", c.Len()), slog.String("values", Redacted))
}

// MarshalJSON refuses to encode credentials.
func (Capabilities) MarshalJSON() ([]byte, error) { return nil, ErrNotSerializable }

// MarshalText refuses to encode credentials.
func (Capabilities) MarshalText() ([]byte, error) { return nil, ErrNotSerializable }
