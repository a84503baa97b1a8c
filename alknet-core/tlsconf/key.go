package tlsconf

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

const redacted = "[REDACTED]"

// errKeyNotSerializable is returned by Ed25519Key's marshallers.
var errKeyNotSerializable = errors.New("tlsconf: private key not serializable")

// Ed25519Key is the node's long-term key. Printing, logging or JSON-encoding it never
// reveals key bytes: fmt and slog show "[REDACTED]" and marshalling fails (CORE-R1401).
// Use it through a pointer; it is safe for concurrent use.
//
// The key material is reachable only through a function value, which fmt prints as an
// address, so no copy of the key and no struct holding one prints key bytes (CORE-R1404).
type Ed25519Key struct {
	ref func() *keyState // nil for the zero value
}

// state returns the key material, or nil for a nil or zero key.
func (k *Ed25519Key) state() *keyState {
	if k == nil || k.ref == nil {
		return nil
	}
	return k.ref()
}

func newKey(priv ed25519.PrivateKey, pub ed25519.PublicKey) *Ed25519Key {
	st := &keyState{priv: priv, pub: pub}
	return &Ed25519Key{ref: func() *keyState { return st }}
}

type keyState struct {
	pub ed25519.PublicKey

	mu        sync.Mutex // guards priv, destroyed and wrapper
	priv      ed25519.PrivateKey
	destroyed bool
	wrapper   *tls.Certificate // the key's wrapper certificate, made on first use by Identity.Certificate
}

// NewEd25519KeyFromSeed builds a key from a 32-byte RFC 8032 seed. It keeps a private
// copy, so the caller may zero seed as soon as the call returns (CORE-R706). A wrong
// length is TLS_CONFIG; the message carries the length only.
func NewEd25519KeyFromSeed(seed []byte) (*Ed25519Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, alkerr.New(alkerr.CodeTLSConfig,
			"ed25519 seed must be 32 bytes, got "+strconv.Itoa(len(seed)))
	}
	priv := ed25519.NewKeyFromSeed(seed) // a fresh slice; nothing aliases seed
	return newKey(priv, priv.Public().(ed25519.PublicKey)), nil
}

// GenerateEd25519Key returns a new key from crypto/rand.
func GenerateEd25519Key() (*Ed25519Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, alkerr.Wrap(alkerr.CodeTLSConfig, "generate ed25519 key", err)
	}
	return newKey(priv, pub), nil
}

// Public returns a copy of the public key.
func (k *Ed25519Key) Public() ed25519.PublicKey {
	st := k.state()
	if st == nil {
		return nil
	}
	return append(ed25519.PublicKey(nil), st.pub...)
}

// Fingerprint returns "ed25519:<hex>" of the public key (core.md §8).
// A nil or zero key has the fingerprint "".
func (k *Ed25519Key) Fingerprint() string {
	st := k.state()
	if st == nil {
		return ""
	}
	return fingerprint.FromEd25519(st.pub)
}

// Destroy zeroes the private key held by k (best effort; CORE-R706). Certificates built
// from k afterwards fail, and TLS configurations already built from it can no longer
// complete a handshake, so destroy a key only after everything using it has closed.
func (k *Ed25519Key) Destroy() {
	st := k.state()
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.priv)
	st.destroyed = true
	st.wrapper = nil
}

// privateKey returns the private key, or an error once destroyed. The returned slice is
// the key's own storage, so Destroy also wipes what TLS configurations hold.
func (k *Ed25519Key) privateKey() (ed25519.PrivateKey, error) {
	st := k.state()
	if st == nil {
		return nil, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key is not set")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.destroyed {
		return nil, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key has been destroyed")
	}
	return st.priv, nil
}

// String returns "[REDACTED]".
func (Ed25519Key) String() string { return redacted }

// GoString returns "[REDACTED]".
func (Ed25519Key) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (Ed25519Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "[REDACTED]".
func (Ed25519Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses to encode the key.
func (Ed25519Key) MarshalJSON() ([]byte, error) { return nil, errKeyNotSerializable }

// MarshalText refuses to encode the key.
func (Ed25519Key) MarshalText() ([]byte, error) { return nil, errKeyNotSerializable }
