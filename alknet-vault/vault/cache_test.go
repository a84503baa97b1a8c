package vault_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-vault/vault"
)

// fakeClock is an injectable clock (VAULT-R83).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// VAULT-T14: the derived-key cache through the vault.
func TestCache(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	v := unlocked(t, vault.Config{CacheTTL: time.Minute, CacheMaxEntries: 2, Now: clk.Now}, testPhrase)
	k1, _ := v.DeriveEd25519(vault.PathIdentity)
	want := bytes.Clone(k1.PrivateKey())
	k1.Wipe()
	k2, _ := v.DeriveEd25519(vault.PathIdentity)
	if !bytes.Equal(k2.PrivateKey(), want) || vault.CacheLen(v) != 1 {
		t.Fatal("cache hit differs after wiping the returned key")
	}
	// Hit at exactly the TTL, miss one nanosecond later.
	clk.Add(time.Minute)
	_, _ = v.DeriveEd25519(vault.PathIdentity) // a hit does not reset the TTL
	if vault.CacheLen(v) != 1 {
		t.Fatal("entry gone at exactly the TTL")
	}
	bufs := vault.CacheBuffers(v)
	clk.Add(time.Nanosecond)
	v.EvictExpired()
	if vault.CacheLen(v) != 0 {
		t.Fatal("EvictExpired kept an expired entry")
	}
	if !bytes.Equal(bufs[0], make([]byte, 32)) {
		t.Error("TTL-expired buffer not wiped (VAULT-T41)")
	}
	k3, _ := v.DeriveEd25519(vault.PathIdentity)
	if !bytes.Equal(k3.PrivateKey(), want) {
		t.Error("re-derivation after expiry differs")
	}
	// Capacity 2: LRU eviction with recency refresh.
	_, _ = v.DeriveEd25519(vault.PathSSHHost)  // cache: ssh, identity
	_, _ = v.DeriveEd25519(vault.PathIdentity) // refresh identity: identity, ssh
	sshBuf := vault.CacheBuffers(v)[1]
	_, _ = v.DeriveEncryptionKeyForVersion(2) // evicts ssh
	if vault.CacheLen(v) != 2 || !bytes.Equal(sshBuf, make([]byte, 32)) {
		t.Error("LRU entry not evicted and wiped")
	}
	// (Ed25519, p) and (Aes256Gcm, p) are separate entries (VAULT-R80).
	w := unlocked(t, vault.Config{Now: clk.Now}, testPhrase)
	ed, _ := w.DeriveEd25519(vault.PathEncryption)
	ae, _ := w.DeriveEncryptionKey(vault.PathEncryption)
	if vault.CacheLen(w) != 2 || ed.Type() != vault.KeyTypeEd25519 || ae.Type() != vault.KeyTypeAES256GCM || ae.PublicKey() != nil || ed.PublicKey() == nil {
		t.Error("type confusion between Ed25519 and AES entries at one path")
	}
	ae2, _ := w.DeriveEncryptionKey(vault.PathEncryption)
	if ae2.Type() != vault.KeyTypeAES256GCM || ae2.PublicKey() != nil {
		t.Error("cached AES key came back with the wrong type")
	}
	// Lock empties the cache.
	v.Lock()
	if vault.CacheLen(v) != 0 {
		t.Error("Lock left cache entries")
	}
	// DisableCache.
	d := unlocked(t, vault.Config{DisableCache: true}, testPhrase)
	if pubHex(t, d, vault.PathIdentity) != pinIdentityPub || vault.CacheLen(d) != 0 {
		t.Error("DisableCache vault cached or derived wrongly")
	}
	if _, err := d.Encrypt([]byte("x"), 2); err != nil || vault.CacheLen(d) != 0 {
		t.Error("DisableCache vault cached an AES key")
	}
}
