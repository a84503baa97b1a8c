package vault

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/internal/wipe"
)

// KeyType names the kind of a derived key. The values are the upstream names
// and appear in DerivedKey's JSON form.
type KeyType string

// The key types.
const (
	KeyTypeEd25519   KeyType = "Ed25519"
	KeyTypeAES256GCM KeyType = "Aes256Gcm"
	KeyTypeSecp256k1 KeyType = "Secp256k1"
)

const redacted = "[REDACTED]"

// privateKey holds a key's secret bytes and its wiped mark behind one
// pointer, so copies of a DerivedKey agree about Wipe (VAULT-R77) and fmt,
// reaching a DerivedKey by reflection, prints only an address (VAULT-R94).
type privateKey struct {
	b     [32]byte
	wiped bool
}

// DerivedKey is a key the vault derived: its type, canonical path, private
// key and (for Ed25519) public key. It is the caller's copy: the vault's
// Lock cannot reach it, so the caller calls Wipe when done (VAULT-R74). It
// has no chain code (VAULT-R33). Printing, logging and JSON encoding never
// reveal the private key (VAULT-R94). The zero DerivedKey behaves like a
// wiped one, and so does a nil *DerivedKey for every accessor and Wipe. The
// redacting methods (String, GoString, Format, LogValue, MarshalJSON) use
// value receivers, so a DerivedKey and a *DerivedKey print alike. A
// DerivedKey is not safe for concurrent use.
type DerivedKey struct {
	keyType KeyType
	path    string
	priv    *privateKey
	pub     []byte
}

func (k *DerivedKey) live() bool { return k != nil && k.priv != nil && !k.priv.wiped }

// Type returns the key type; it keeps working after Wipe. It is "" for a
// nil *DerivedKey.
func (k *DerivedKey) Type() KeyType {
	if k == nil {
		return ""
	}
	return k.keyType
}

// Path returns the canonical derivation path; it keeps working after Wipe.
// It is "" for a nil *DerivedKey.
func (k *DerivedKey) Path() string {
	if k == nil {
		return ""
	}
	return k.path
}

// PublicKey returns a copy of the 32-byte Ed25519 public key, or nil for an
// Aes256Gcm key and a nil *DerivedKey. It keeps working after Wipe.
func (k *DerivedKey) PublicKey() []byte {
	if k == nil || k.pub == nil {
		return nil
	}
	return append([]byte(nil), k.pub...)
}

// PrivateKey returns the 32-byte private key: an RFC 8032 Ed25519 seed or an
// AES-256 key. The slice aliases the key, so Wipe zeroes it. It is nil after
// Wipe, for the zero DerivedKey and for a nil *DerivedKey (VAULT-R77).
func (k *DerivedKey) PrivateKey() []byte {
	if !k.live() {
		return nil
	}
	return k.priv.b[:]
}

// Ed25519PrivateKey returns a new 64-byte crypto/ed25519 private key built
// from the seed; the caller wipes it. A wiped, zero or nil key is
// VAULT_KEY_WIPED, a key of another type VAULT_UNSUPPORTED_KEY_TYPE
// (VAULT-R77).
func (k *DerivedKey) Ed25519PrivateKey() (ed25519.PrivateKey, error) {
	if !k.live() {
		return nil, vaulterr.ErrKeyWiped
	}
	if k.keyType != KeyTypeEd25519 {
		return nil, vaulterr.New(vaulterr.CodeUnsupportedKeyType, "unsupported key type: "+string(k.keyType)+" key is not an Ed25519 key")
	}
	return ed25519.NewKeyFromSeed(k.priv.b[:]), nil
}

// Wipe zeroes the private key, so every slice PrivateKey returned earlier
// sees zeros, and marks the key unusable. It is idempotent and safe on the
// zero DerivedKey and on a nil *DerivedKey, so a deferred Wipe may come
// before the error check.
func (k *DerivedKey) Wipe() {
	if k == nil || k.priv == nil {
		return
	}
	wipe.Bytes(k.priv.b[:])
	k.priv.wiped = true
}

// String returns a redacted description.
func (k DerivedKey) String() string {
	return "vault.DerivedKey{type: " + string(k.keyType) + ", path: " + strconv.Quote(k.path) + ", private_key: " + redacted + "}"
}

// GoString returns the same redacted description as String.
func (k DerivedKey) GoString() string { return k.String() }

// Format prints the redacted description for every verb, %#v, %x and %d
// included.
func (k DerivedKey) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue redacts the key for log/slog.
func (k DerivedKey) LogValue() slog.Value {
	pub := slog.Any("public_key", nil)
	if k.pub != nil {
		pub = slog.String("public_key", hex.EncodeToString(k.pub))
	}
	return slog.GroupValue(
		slog.String("key_type", string(k.keyType)),
		slog.String("path", k.path),
		slog.String("private_key", redacted),
		pub,
	)
}

// derivedKeyJSON is the redacted JSON shape of a DerivedKey.
type derivedKeyJSON struct {
	KeyType    KeyType `json:"key_type"`
	Path       string  `json:"path"`
	PrivateKey string  `json:"private_key"`
	PublicKey  *string `json:"public_key"`
}

// MarshalJSON emits {"key_type","path","private_key":"[REDACTED]","public_key"}
// with the public key in hex, or null for an Aes256Gcm key.
func (k DerivedKey) MarshalJSON() ([]byte, error) {
	out := derivedKeyJSON{KeyType: k.keyType, Path: k.path, PrivateKey: redacted}
	if k.pub != nil {
		h := hex.EncodeToString(k.pub)
		out.PublicKey = &h
	}
	return json.Marshal(out)
}

// UnmarshalJSON always fails: a DerivedKey never comes from JSON (VAULT-R94).
func (k *DerivedKey) UnmarshalJSON([]byte) error {
	return errors.New("vault: a DerivedKey cannot be decoded from JSON")
}
