package tlsconf

import (
	"crypto/ed25519"
	"crypto/rand"
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
type Ed25519Key struct {
	st *keyState // behind a pointer so no copy or enclosing struct prints key bytes (CORE-R1404)
}

type keyState struct {
	pub ed25519.PublicKey

	mu        sync.Mutex // guards priv and destroyed
	priv      ed25519.PrivateKey
	destroyed bool
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
	return &Ed25519Key{st: &keyState{priv: priv, pub: priv.Public().(ed25519.PublicKey)}}, nil
}

// GenerateEd25519Key returns a new key from crypto/rand.
func GenerateEd25519Key() (*Ed25519Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, alkerr.Wrap(alkerr.CodeTLSConfig, "generate ed25519 key", err)
	}
	return &Ed25519Key{st: &keyState{priv: priv, pub: pub}}, nil
}

// Public returns a copy of the public key.
func (k *Ed25519Key) Public() ed25519.PublicKey {
	if k == nil || k.st == nil {
		return nil
	}
	return append(ed25519.PublicKey(nil), k.st.pub...)
}

// Fingerprint returns "ed25519:<hex>" of the public key (core.md §8).
// A nil or zero key has the fingerprint "".
func (k *Ed25519Key) Fingerprint() string {
	if k == nil || k.st == nil {
		return ""
	}
	return fingerprint.FromEd25519(k.st.pub)
}

// Destroy zeroes the private key held by k (best effort; CORE-R706). Certificates built
// from k afterwards fail, and TLS configurations already built from it can no longer
// complete a handshake, so destroy a key only after everything using it has closed.
func (k *Ed25519Key) Destroy() {
	if k == nil || k.st == nil {
		return
	}
	k.st.mu.Lock()
	defer k.st.mu.Unlock()
	clear(k.st.priv)
	k.st.destroyed = true
}

// privateKey returns the private key, or an error once destroyed. The returned slice is
// the key's own storage, so Destroy also wipes what TLS configurations hold.
func (k *Ed25519Key) privateKey() (ed25519.PrivateKey, error) {
	if k == nil || k.st == nil {
		return nil, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key is not set")
	}
	k.st.mu.Lock()
	defer k.st.mu.Unlock()
	if k.st.destroyed {
		return nil, alkerr.New(alkerr.CodeTLSConfig, "ed25519 key has been destroyed")
	}
	return k.st.priv, nil
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
