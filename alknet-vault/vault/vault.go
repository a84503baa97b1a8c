// Package vault is alknet's local key vault (spec/vault.md). A [Vault] holds
// one secret, a 64-byte BIP-39 seed, and from it derives keys on demand
// (Ed25519 by SLIP-0010) and encrypts credentials with AES-256-GCM under a
// key derived from the same seed ([EncryptedData]).
//
// The vault is local-only by construction (VAULT-R1): no listener, no
// protocol handler, no remote mode; the only API is method calls on the
// handle. It imports no other alknet module, opens no socket, reads no
// environment variable, writes no file and logs nothing (VAULT-R2).
//
// Secret hygiene: every buffer the vault allocates for secret material is
// zeroed when the vault is done with it. That is not the same as "no copy
// remains in the process"; the module README lists what Go cannot wipe
// (VAULT-R92). Keys and the seed never appear in printed, logged or JSON
// forms, nor in error messages (VAULT-R94, VAULT-R95).
package vault

import (
	"crypto/fips140"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-vault/bip39"
	"github.com/alknet/alknet/alknet-vault/internal/aead"
	"github.com/alknet/alknet/alknet-vault/internal/keycache"
	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/internal/wipe"
	"github.com/alknet/alknet/alknet-vault/slip10"
)

// Cache defaults (VAULT-R81).
const (
	DefaultCacheTTL        = time.Hour
	DefaultCacheMaxEntries = 64
)

// Config configures a Vault. Every value is valid; the zero Config gives the
// defaults.
type Config struct {
	// CacheTTL is how long a derived key stays cached, measured from
	// insertion. If zero or negative, 1h.
	CacheTTL time.Duration
	// CacheMaxEntries bounds the cache; the least recently used entry is
	// evicted. If zero or negative, 64.
	CacheMaxEntries int
	// DisableCache turns the derived-key cache off completely.
	DisableCache bool
	// Now is the clock for cache expiry. If nil, time.Now. Tests inject a
	// fake clock.
	Now func() time.Time
}

// seedSecret keeps the seed behind a pointer to an unexported type
// (VAULT-R97).
type seedSecret struct {
	b []byte
}

// Vault is the vault handle. It starts locked; Unlock installs a seed and
// Lock wipes it. All methods are safe for concurrent use: one mutex guards
// the seed and the cache, derivations run under it, and Lock waits for
// in-flight operations (VAULT-R73). The vault starts no goroutines. The zero
// Vault is not ready for use; call [New]. A Vault must not be copied.
type Vault struct {
	now func() time.Time

	mu    sync.Mutex
	seed  *seedSecret     // guarded by mu; nil while locked
	cache *keycache.Cache // guarded by mu; nil when disabled

	// rotateHook, set only by tests, sees Rotate's intermediate plaintext
	// before it is wiped (VAULT-T41).
	rotateHook func([]byte)
}

// New returns a locked vault. It never fails: every Config value is valid.
func New(cfg Config) *Vault {
	v := &Vault{now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	if !cfg.DisableCache {
		ttl := cfg.CacheTTL
		if ttl <= 0 {
			ttl = DefaultCacheTTL
		}
		maxEntries := cfg.CacheMaxEntries
		if maxEntries <= 0 {
			maxEntries = DefaultCacheMaxEntries
		}
		v.cache = keycache.New(ttl, maxEntries)
	}
	return v
}

// IsUnlocked reports whether the vault holds a seed.
func (v *Vault) IsUnlocked() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seed != nil
}

// Unlock derives the seed from phrase and passphrase (BIP-39, VAULT-R15) and
// unlocks the vault. phrase and passphrase are the caller's: Unlock neither
// modifies nor retains them, and the caller wipes them afterwards
// (VAULT-R96). PBKDF2 runs outside the lock on private copies (VAULT-R73).
//
// Errors: VAULT_ALREADY_UNLOCKED (state and seed untouched),
// VAULT_FIPS_ONLY_MODE, VAULT_INVALID_PASSPHRASE, VAULT_INVALID_MNEMONIC. A
// failed Unlock leaves the vault locked.
func (v *Vault) Unlock(phrase, passphrase []byte) error {
	if v.IsUnlocked() {
		return vaulterr.ErrAlreadyUnlocked
	}
	if fips140.Enforced() {
		return vaulterr.ErrFIPSOnlyMode
	}
	seed, err := bip39.Seed(phrase, passphrase)
	if err != nil {
		return err
	}
	return v.install(seed)
}

// UnlockNew generates a mnemonic of wordCount words (12, 15, 18, 21 or 24),
// unlocks with an empty passphrase and returns the canonical phrase: the
// only time a phrase leaves the vault (VAULT-R72). The vault keeps no copy;
// the caller shows or stores the phrase and then wipes it.
//
// Errors: VAULT_ALREADY_UNLOCKED, VAULT_FIPS_ONLY_MODE, VAULT_INVALID_MNEMONIC
// for a bad count.
func (v *Vault) UnlockNew(wordCount int) ([]byte, error) {
	if v.IsUnlocked() {
		return nil, vaulterr.ErrAlreadyUnlocked
	}
	if fips140.Enforced() {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	phrase, err := bip39.Generate(wordCount)
	if err != nil {
		return nil, err
	}
	seed, err := bip39.Seed(phrase, nil)
	if err != nil {
		wipe.Bytes(phrase)
		return nil, err
	}
	if err := v.install(seed); err != nil {
		wipe.Bytes(phrase)
		return nil, err
	}
	return phrase, nil
}

// install takes ownership of seed: it becomes the vault's seed, or is wiped
// when another goroutine unlocked first.
func (v *Vault) install(seed []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seed != nil {
		wipe.Bytes(seed)
		return vaulterr.ErrAlreadyUnlocked
	}
	v.seed = &seedSecret{b: seed}
	return nil
}

// Lock wipes the seed and every cached key and locks the vault (VAULT-R74).
// It is idempotent. DerivedKey values already returned are the caller's and
// are not touched.
func (v *Vault) Lock() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seed != nil {
		wipe.Bytes(v.seed.b)
		v.seed = nil
	}
	if v.cache != nil {
		v.cache.Clear()
	}
}

// EvictExpired removes expired keys from the cache (TTL eviction is
// otherwise lazy, VAULT-R81).
func (v *Vault) EvictExpired() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache != nil {
		v.cache.EvictExpired(v.now())
	}
}

// parseVaultPath parses a path for the Derive methods: the VAULT-R20
// grammar, depth at least 1 (VAULT-R34) and hardened indices only
// (VAULT-R31).
func parseVaultPath(path string) (slip10.Path, error) {
	p, err := slip10.ParsePath(path)
	if err != nil {
		return slip10.Path{}, err
	}
	if p.Depth() == 0 {
		return slip10.Path{}, vaulterr.New(vaulterr.CodeInvalidPath, "invalid derivation path: the master key is never handed out")
	}
	if !p.AllHardened() {
		return slip10.Path{}, vaulterr.New(vaulterr.CodeInvalidPath, "invalid derivation path: ed25519 derivation requires hardened indices")
	}
	return p, nil
}

// deriveLocked returns the private key (into dst) and, for Ed25519, the
// public key at p, through the cache (VAULT-R80). v.mu must be held and the
// vault unlocked.
func (v *Vault) deriveLocked(t KeyType, p slip10.Path, dst *[32]byte) ([]byte, error) {
	ck := keycache.Key{Type: string(t), Path: p.String()}
	if v.cache != nil {
		if pub, ok := v.cache.Get(ck, v.now(), dst); ok {
			return pub, nil
		}
	}
	n, err := slip10.DeriveEd25519(v.seed.b, p)
	if err != nil {
		return nil, err
	}
	copy(dst[:], n.PrivateKey())
	n.Wipe()
	var pub []byte
	if t == KeyTypeEd25519 {
		pub = slip10.PublicKey(dst[:])
	}
	if v.cache != nil {
		v.cache.Put(ck, dst, pub, v.now())
	}
	return pub, nil
}

// keyAt checks the state, resolves the path and derives the key of type t
// into dst, all under the mutex; the state comes first (VAULT-R71).
func (v *Vault) keyAt(t KeyType, resolve func() (slip10.Path, error), dst *[32]byte) (slip10.Path, []byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seed == nil {
		return slip10.Path{}, nil, vaulterr.ErrLocked
	}
	p, err := resolve()
	if err != nil {
		return slip10.Path{}, nil, err
	}
	pub, err := v.deriveLocked(t, p, dst)
	return p, pub, err
}

// derive returns a fresh DerivedKey, the caller's own copy (VAULT-R76).
func (v *Vault) derive(t KeyType, resolve func() (slip10.Path, error)) (*DerivedKey, error) {
	priv := &privateKey{}
	p, pub, err := v.keyAt(t, resolve, &priv.b)
	if err != nil {
		wipe.Bytes(priv.b[:])
		return nil, err
	}
	return &DerivedKey{keyType: t, path: p.String(), priv: priv, pub: pub}, nil
}

// DeriveEd25519 returns a fresh copy of the Ed25519 key at path, for
// example [PathIdentity] (VAULT-R76). Errors: VAULT_LOCKED (checked first,
// VAULT-R71), VAULT_INVALID_PATH for a bad path, the master path or a
// non-hardened index.
func (v *Vault) DeriveEd25519(path string) (*DerivedKey, error) {
	return v.derive(KeyTypeEd25519, func() (slip10.Path, error) { return parseVaultPath(path) })
}

// DeriveEncryptionKey returns a fresh copy of the AES-256 key at path, with
// a nil public key (VAULT-R76). Errors as for [Vault.DeriveEd25519].
func (v *Vault) DeriveEncryptionKey(path string) (*DerivedKey, error) {
	return v.derive(KeyTypeAES256GCM, func() (slip10.Path, error) { return parseVaultPath(path) })
}

// DeriveEncryptionKeyForVersion returns the AES-256 key of a key version
// (VAULT-R23). Errors: VAULT_LOCKED, VAULT_INVALID_KEY_VERSION.
func (v *Vault) DeriveEncryptionKeyForVersion(version uint32) (*DerivedKey, error) {
	return v.derive(KeyTypeAES256GCM, versionPath(version))
}

// versionPath resolves the encryption path of a key version (VAULT-R23).
func versionPath(version uint32) func() (slip10.Path, error) {
	return func() (slip10.Path, error) {
		s, err := EncryptionPathForVersion(version)
		if err != nil {
			return slip10.Path{}, err
		}
		return slip10.ParsePath(s)
	}
}

// DeriveEthereum is not supported in v1 (VAULT-R40): VAULT_LOCKED while
// locked (VAULT-R71), VAULT_UNSUPPORTED_KEY_TYPE otherwise.
func (v *Vault) DeriveEthereum(path string) (*DerivedKey, error) {
	if !v.IsUnlocked() {
		return nil, vaulterr.ErrLocked
	}
	return nil, vaulterr.New(vaulterr.CodeUnsupportedKeyType, "unsupported key type: secp256k1 derivation is not built in")
}

// encryptionKey checks the state and the version (in that order, VAULT-R58)
// and copies the version's AES key into dst through the cache.
func (v *Vault) encryptionKey(version uint32, dst *[32]byte) error {
	_, _, err := v.keyAt(KeyTypeAES256GCM, versionPath(version), dst)
	return err
}

func checkPlaintext(pt []byte) error {
	if len(pt) > MaxPlaintextLen {
		return vaulterr.New(vaulterr.CodeInvalidPlaintext, "invalid plaintext: longer than 65536 bytes")
	}
	if !utf8.Valid(pt) {
		return vaulterr.New(vaulterr.CodeInvalidPlaintext, "invalid plaintext: not valid UTF-8")
	}
	return nil
}

// Encrypt seals plaintext under the key of keyVersion with a fresh random
// nonce and salt (VAULT-R53) and stamps keyVersion into the blob
// (VAULT-R61). Use [CurrentKeyVersion] for new credentials. plaintext must be
// valid UTF-8 and at most 64 KiB; it is not modified or retained.
//
// Errors, in this order (VAULT-R58): VAULT_LOCKED, VAULT_INVALID_KEY_VERSION,
// VAULT_INVALID_PLAINTEXT.
func (v *Vault) Encrypt(plaintext []byte, keyVersion uint32) (EncryptedData, error) {
	if !v.IsUnlocked() {
		return EncryptedData{}, vaulterr.ErrLocked
	}
	if err := checkKeyVersion(keyVersion); err != nil {
		return EncryptedData{}, err
	}
	if err := checkPlaintext(plaintext); err != nil {
		return EncryptedData{}, err
	}
	var key [32]byte
	defer wipe.Bytes(key[:])
	if err := v.encryptionKey(keyVersion, &key); err != nil {
		return EncryptedData{}, err
	}
	return seal(&key, keyVersion, plaintext)
}

func seal(key *[32]byte, keyVersion uint32, plaintext []byte) (EncryptedData, error) {
	if fips140.Enforced() {
		return EncryptedData{}, vaulterr.ErrFIPSOnlyMode
	}
	var nonce [aead.NonceSize]byte
	var salt [saltLen]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(salt[:])
	data, err := aead.Seal(key[:], nonce[:], plaintext)
	if err != nil {
		return EncryptedData{}, vaulterr.New(vaulterr.CodeDerivationFailed, "key derivation failed: AES-256-GCM refused the key")
	}
	return EncryptedData{
		KeyVersion: keyVersion,
		Salt:       base64.StdEncoding.EncodeToString(salt[:]),
		IV:         base64.StdEncoding.EncodeToString(nonce[:]),
		Data:       base64.StdEncoding.EncodeToString(data),
	}, nil
}

// Decrypt opens blob with the key named by blob.KeyVersion, never falling
// back to another version (VAULT-R61). The result is newly allocated; the
// caller wipes it.
//
// Errors, in this order (VAULT-R58): VAULT_LOCKED, VAULT_INVALID_KEY_VERSION
// (0, 1 or above 2^31+1), VAULT_MALFORMED_CIPHERTEXT (the VAULT-R52 field
// checks), VAULT_DECRYPT_FAILED for every authentication failure and for a
// result that is not UTF-8, always with the same message (VAULT-R55).
func (v *Vault) Decrypt(blob EncryptedData) ([]byte, error) {
	if !v.IsUnlocked() {
		return nil, vaulterr.ErrLocked
	}
	if err := checkKeyVersion(blob.KeyVersion); err != nil {
		return nil, err
	}
	iv, data, err := blob.fields()
	if err != nil {
		return nil, err
	}
	var key [32]byte
	defer wipe.Bytes(key[:])
	if err := v.encryptionKey(blob.KeyVersion, &key); err != nil {
		return nil, err
	}
	return open(&key, iv, data)
}

func open(key *[32]byte, iv, data []byte) ([]byte, error) {
	if fips140.Enforced() {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	pt, err := aead.Open(key[:], iv, data)
	if err != nil {
		return nil, vaulterr.ErrDecryptFailed
	}
	if !utf8.Valid(pt) {
		wipe.Bytes(pt)
		return nil, vaulterr.ErrDecryptFailed
	}
	return pt, nil
}

// Rotate decrypts blob with its version's key and encrypts the plaintext
// again under toVersion with a fresh nonce and salt, wiping the intermediate
// plaintext (VAULT-R62). blob is not modified; toVersion == blob.KeyVersion
// re-randomises. On any error no blob is returned.
//
// Errors, in this order (VAULT-R58): VAULT_LOCKED, VAULT_INVALID_KEY_VERSION
// (the blob's, then toVersion), VAULT_MALFORMED_CIPHERTEXT,
// VAULT_DECRYPT_FAILED.
func (v *Vault) Rotate(blob EncryptedData, toVersion uint32) (EncryptedData, error) {
	if !v.IsUnlocked() {
		return EncryptedData{}, vaulterr.ErrLocked
	}
	if err := checkKeyVersion(blob.KeyVersion); err != nil {
		return EncryptedData{}, err
	}
	if err := checkKeyVersion(toVersion); err != nil {
		return EncryptedData{}, err
	}
	iv, data, err := blob.fields()
	if err != nil {
		return EncryptedData{}, err
	}
	var from, to [32]byte
	defer wipe.Bytes(from[:])
	defer wipe.Bytes(to[:])
	if err := v.encryptionKey(blob.KeyVersion, &from); err != nil {
		return EncryptedData{}, err
	}
	if err := v.encryptionKey(toVersion, &to); err != nil {
		return EncryptedData{}, err
	}
	pt, err := open(&from, iv, data)
	if err != nil {
		return EncryptedData{}, err
	}
	defer wipe.Bytes(pt)
	if v.rotateHook != nil {
		v.rotateHook(pt)
	}
	return seal(&to, toVersion, pt)
}

// state returns "locked" or "unlocked".
func (v *Vault) state() string {
	if v == nil {
		return "nil"
	}
	if v.IsUnlocked() {
		return "unlocked"
	}
	return "locked"
}

// String returns "vault.Vault{locked}" or "vault.Vault{unlocked}", never the
// vault's fields (VAULT-R97).
func (v *Vault) String() string { return "vault.Vault{" + v.state() + "}" }

// GoString returns the same form as String.
func (v *Vault) GoString() string { return v.String() }

// Format prints the String form for every verb.
func (v *Vault) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(v.String())) }

// LogValue logs only the state.
func (v *Vault) LogValue() slog.Value {
	return slog.GroupValue(slog.String("state", v.state()))
}
