// Package keystore seals the node's mnemonic (and optional BIP39 passphrase) at rest in a JSON
// file (cli.md §6): Argon2id derives an AES-256-GCM key from the operator's passphrase, and the
// associated data binds the clear-text header, so editing the identity block or the KDF
// parameters makes unlocking fail. The identity block is public and readable without the
// passphrase (CLI-R27).
package keystore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

// Format and protection names (one-way door for operators, cli.md §1.1).
const (
	FormatName        = "alknet-keystore"
	FormatVersion     = 1
	ProtectionSealed  = "argon2id+aes-256-gcm"
	ProtectionNone    = "none"
	saltLen, nonceLen = 16, 12
	// MaxFileSize bounds what a reader accepts.
	MaxFileSize = 64 << 10
	maxIndex    = 1<<31 - 1
)

// KDF is the Argon2id cost (CLI-R28). Memory is in KiB.
type KDF struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// DefaultKDF is RFC 9106's second recommended set: time 3, 64 MiB, 4 threads (CLI-R28).
var DefaultKDF = KDF{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// MinKDF is the cheapest accepted cost (about 20 ms); tests seal with it.
var MinKDF = KDF{Time: 1, MemoryKiB: 8 << 10, Threads: 1}

// Check enforces the bounds of CLI-R28: time 1–64, memory 8 MiB–4 GiB, threads 1–64.
func (k KDF) Check() error {
	switch {
	case k.Time < 1 || k.Time > 64:
		return fmt.Errorf("kdf time %d is outside 1..64", k.Time)
	case k.MemoryKiB < 8<<10 || k.MemoryKiB > 4<<20:
		return fmt.Errorf("kdf memory %d KiB is outside 8 MiB..4 GiB", k.MemoryKiB)
	case k.Threads < 1 || k.Threads > 64:
		return fmt.Errorf("kdf threads %d is outside 1..64", k.Threads)
	}
	return nil
}

// Identity is the public identity block (cli.md §6.1): a cache of what the sealed mnemonic
// derives, re-checked by serve and `identity show --verify` (CLI-R27).
type Identity struct {
	Index       uint32 `json:"index"`
	Path        string `json:"path"`
	Fingerprint string `json:"fingerprint"`
}

// IdentityPath is the derivation path of identity index n, m/74'/0'/0'/n' (cli.md §6.3).
func IdentityPath(n uint32) string { return "m/74'/0'/0'/" + strconv.FormatUint(uint64(n), 10) + "'" }

// Plain is the sealed plaintext: the mnemonic and the BIP39 passphrase as bytes the caller
// wipes after use (CLI-R25). Every printed, logged or marshalled form is [REDACTED].
type Plain struct {
	Mnemonic        []byte
	BIP39Passphrase []byte
}

// Wipe overwrites both fields with zeros.
func (p *Plain) Wipe() {
	if p != nil {
		clear(p.Mnemonic)
		clear(p.BIP39Passphrase)
	}
}

const redacted = "[REDACTED]"

// String returns [REDACTED].
func (Plain) String() string { return redacted }

// GoString returns [REDACTED].
func (Plain) GoString() string { return redacted }

// Format writes [REDACTED] for every verb.
func (Plain) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue returns [REDACTED].
func (Plain) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses: the plaintext never leaves through encoding/json by accident.
func (Plain) MarshalJSON() ([]byte, error) {
	return nil, fmt.Errorf("keystore: plaintext is not serializable")
}

// plainJSON is the sealed plaintext's wire form: base64 of the bytes, so it decodes straight
// into []byte fields that can be wiped (cli.md §6.1).
type plainJSON struct {
	Mnemonic        []byte `json:"mnemonic"`
	BIP39Passphrase []byte `json:"bip39_passphrase"`
}

type kdfJSON struct {
	KDF
	Salt []byte `json:"salt"`
}

// fileJSON is the file's JSON shape (cli.md §6.1).
type fileJSON struct {
	Format     string     `json:"format"`
	Version    int        `json:"version"`
	CreatedAt  time.Time  `json:"created_at"`
	Identity   Identity   `json:"identity"`
	Protection string     `json:"protection"`
	KDF        *kdfJSON   `json:"kdf,omitempty"`
	Nonce      []byte     `json:"nonce,omitempty"`
	Ciphertext []byte     `json:"ciphertext,omitempty"`
	Secret     *plainJSON `json:"secret,omitempty"`
}

// File is a parsed keystore. Its header fields are public; the sealed part is opened with
// Open.
type File struct {
	CreatedAt  time.Time
	Identity   Identity
	Protection string
	KDF        KDF // zero when unprotected

	salt, nonce, ciphertext []byte
	clear                   *Plain // protection "none" only
}

// Protected reports whether the mnemonic is sealed under a passphrase.
func (f *File) Protected() bool { return f.Protection == ProtectionSealed }

func corrupt(format string, args ...any) error {
	return output.Errorf(output.CodeKeystoreCorrupt, "keystore is corrupt: "+format, args...).
		WithHint("restore the keystore from a backup, or recreate it with `alknet init --recover --force`")
}

// Parse decodes and checks a keystore file strictly (CLI-R28): unknown fields, a wrong format
// or version, KDF parameters out of bounds, wrong salt or nonce lengths, an identity path that
// does not match its index and a non-canonical fingerprint are KEYSTORE_CORRUPT (exit 8). For an
// unprotected keystore the clear secret is held in the File; data is not retained, and the
// caller wipes it.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, corrupt("larger than %d bytes", MaxFileSize)
	}
	var raw fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, corrupt("%v", err)
	}
	if dec.More() {
		return nil, corrupt("data after the JSON object")
	}
	if raw.Format != FormatName {
		return nil, corrupt("format is %q, not %q", raw.Format, FormatName)
	}
	if raw.Version != FormatVersion {
		return nil, corrupt("version %d is not supported (this binary reads version %d)", raw.Version, FormatVersion)
	}
	id := raw.Identity
	if id.Index > maxIndex || id.Path != IdentityPath(id.Index) {
		return nil, corrupt("identity path %q does not match index %d", id.Path, id.Index)
	}
	if fp, err := fingerprint.Parse(id.Fingerprint); err != nil || fp != id.Fingerprint {
		return nil, corrupt("identity fingerprint is not a canonical ed25519 fingerprint")
	}
	f := &File{CreatedAt: raw.CreatedAt, Identity: id, Protection: raw.Protection}
	switch raw.Protection {
	case ProtectionSealed:
		if raw.Secret != nil || raw.KDF == nil {
			return nil, corrupt("a sealed keystore needs kdf, nonce and ciphertext and no clear secret")
		}
		if err := raw.KDF.KDF.Check(); err != nil {
			return nil, corrupt("%v", err)
		}
		if len(raw.KDF.Salt) != saltLen || len(raw.Nonce) != nonceLen || len(raw.Ciphertext) < 16 {
			return nil, corrupt("salt, nonce or ciphertext has the wrong length")
		}
		f.KDF, f.salt, f.nonce, f.ciphertext = raw.KDF.KDF, raw.KDF.Salt, raw.Nonce, raw.Ciphertext
	case ProtectionNone:
		if raw.Secret == nil || raw.KDF != nil || raw.Nonce != nil || raw.Ciphertext != nil {
			return nil, corrupt("an unprotected keystore holds a clear secret and no kdf, nonce or ciphertext")
		}
		if len(raw.Secret.Mnemonic) == 0 {
			return nil, corrupt("the mnemonic is empty")
		}
		f.clear = &Plain{Mnemonic: raw.Secret.Mnemonic, BIP39Passphrase: raw.Secret.BIP39Passphrase}
	default:
		return nil, corrupt("unknown protection %q", raw.Protection)
	}
	return f, nil
}

// aad is the associated data binding the clear-text header (cli.md §6.1).
func (f *File) aad() []byte {
	return []byte("alknet-keystore/1|" + strconv.FormatUint(uint64(f.Identity.Index), 10) + "|" +
		f.Identity.Fingerprint + "|argon2id|" + strconv.FormatUint(uint64(f.KDF.Time), 10) + "|" +
		strconv.FormatUint(uint64(f.KDF.MemoryKiB), 10) + "|" + strconv.FormatUint(uint64(f.KDF.Threads), 10) + "|" +
		base64.StdEncoding.EncodeToString(f.salt))
}

func gcmFor(passphrase []byte, salt []byte, k KDF) (cipher.AEAD, error) {
	key := argon2.IDKey(passphrase, salt, k.Time, k.MemoryKiB, k.Threads, 32)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Open returns the sealed plaintext; the caller wipes it. For a sealed keystore a wrong
// passphrase and a modified file are indistinguishable: both are WRONG_PASSPHRASE (exit 6,
// CLI-R29). For an unprotected keystore the passphrase is ignored and a copy of the clear
// secret is returned.
func (f *File) Open(passphrase []byte) (*Plain, error) {
	if !f.Protected() {
		return &Plain{
			Mnemonic:        append([]byte(nil), f.clear.Mnemonic...),
			BIP39Passphrase: append([]byte(nil), f.clear.BIP39Passphrase...),
		}, nil
	}
	aead, err := gcmFor(passphrase, f.salt, f.KDF)
	if err != nil {
		return nil, fmt.Errorf("keystore cipher: %w", err)
	}
	pt, err := aead.Open(nil, f.nonce, f.ciphertext, f.aad())
	if err != nil {
		return nil, output.Errorf(output.CodeWrongPassphrase, "wrong passphrase, or the keystore file was modified").
			WithHint("check the passphrase (or passphrase file); a modified keystore must be restored from a backup")
	}
	defer clear(pt)
	var pj plainJSON
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pj); err != nil || len(pj.Mnemonic) == 0 {
		pj.wipe()
		return nil, corrupt("the sealed content is not a keystore secret")
	}
	return &Plain{Mnemonic: pj.Mnemonic, BIP39Passphrase: pj.BIP39Passphrase}, nil
}

func (p *plainJSON) wipe() {
	clear(p.Mnemonic)
	clear(p.BIP39Passphrase)
}

// Wipe overwrites an unprotected keystore's clear secret held in f.
func (f *File) Wipe() { f.clear.Wipe() }

// Seal builds a sealed keystore for p under passphrase with a fresh salt and nonce from rnd
// (crypto/rand in production): a (key, nonce) pair is never reused (cli.md §6.1).
func Seal(p *Plain, passphrase []byte, k KDF, id Identity, createdAt time.Time, rnd io.Reader) (*File, error) {
	if err := k.Check(); err != nil {
		return nil, output.Errorf(output.CodeInvalidInput, "%v", err)
	}
	if len(passphrase) == 0 {
		return nil, output.Errorf(output.CodeInvalidInput, "an empty passphrase cannot seal a keystore (use --no-passphrase)")
	}
	f := &File{CreatedAt: createdAt.UTC().Truncate(time.Second), Identity: id, Protection: ProtectionSealed, KDF: k,
		salt: make([]byte, saltLen), nonce: make([]byte, nonceLen)}
	if _, err := io.ReadFull(rnd, f.salt); err != nil {
		return nil, fmt.Errorf("keystore salt: %w", err)
	}
	if _, err := io.ReadFull(rnd, f.nonce); err != nil {
		return nil, fmt.Errorf("keystore nonce: %w", err)
	}
	pt, err := json.Marshal(plainJSON{Mnemonic: p.Mnemonic, BIP39Passphrase: nonNil(p.BIP39Passphrase)})
	if err != nil {
		return nil, fmt.Errorf("encode keystore secret: %w", err)
	}
	defer clear(pt)
	aead, err := gcmFor(passphrase, f.salt, k)
	if err != nil {
		return nil, fmt.Errorf("keystore cipher: %w", err)
	}
	f.ciphertext = aead.Seal(nil, f.nonce, pt, f.aad())
	return f, nil
}

// SealNone builds an unprotected keystore (`--no-passphrase`): the secret sits in the clear and
// the file's permissions are its only protection (CLI-R30).
func SealNone(p *Plain, id Identity, createdAt time.Time) *File {
	return &File{CreatedAt: createdAt.UTC().Truncate(time.Second), Identity: id, Protection: ProtectionNone,
		clear: &Plain{Mnemonic: append([]byte(nil), p.Mnemonic...), BIP39Passphrase: append([]byte{}, p.BIP39Passphrase...)}}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Marshal encodes f as the keystore JSON (indented). For an unprotected keystore the result
// holds the clear secret: the caller writes it with mode 0600 and wipes the buffer.
func (f *File) Marshal() ([]byte, error) {
	raw := fileJSON{Format: FormatName, Version: FormatVersion, CreatedAt: f.CreatedAt, Identity: f.Identity, Protection: f.Protection}
	if f.Protected() {
		raw.KDF = &kdfJSON{KDF: f.KDF, Salt: f.salt}
		raw.Nonce, raw.Ciphertext = f.nonce, f.ciphertext
	} else {
		raw.Secret = &plainJSON{Mnemonic: f.clear.Mnemonic, BIP39Passphrase: nonNil(f.clear.BIP39Passphrase)}
	}
	b, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode keystore: %w", err)
	}
	return append(b, '\n'), nil
}

// SameSealed reports whether a and b carry the same bound header values, nonce and ciphertext:
// the values a successful Open depends on (CLI-F2).
func SameSealed(a, b *File) bool {
	return a.Identity == b.Identity && a.Protection == b.Protection && a.KDF == b.KDF &&
		bytes.Equal(a.salt, b.salt) && bytes.Equal(a.nonce, b.nonce) && bytes.Equal(a.ciphertext, b.ciphertext)
}
