// Package keycache is the vault's TTL and LRU cache of derived private keys
// (spec/vault.md §10). It is not safe for concurrent use: the vault guards it
// with its own mutex. Every entry removed for any reason is wiped first
// (VAULT-R82).
package keycache

import (
	"container/list"
	"time"

	"github.com/alknet/alknet/alknet-vault/internal/wipe"
)

// Key identifies an entry: the key type and the canonical path (VAULT-R80).
type Key struct {
	Type string // the vault's KeyType, such as "Ed25519" or "Aes256Gcm"
	Path string // the canonical derivation path
}

// entry is one cached key. priv sits in the entry struct, which is only
// reachable through the cache.
type entry struct {
	key      Key
	priv     [32]byte
	pub      []byte
	inserted time.Time
}

// Cache maps Key to a private key and optional public key. The zero Cache is
// not usable; call New.
type Cache struct {
	ttl   time.Duration
	max   int
	order *list.List // front = most recently used; values are *entry
	items map[Key]*list.Element
}

// New returns an empty cache whose entries expire ttl after insertion and
// which holds at most max entries. ttl and max must be positive.
func New(ttl time.Duration, max int) *Cache {
	return &Cache{ttl: ttl, max: max, order: list.New(), items: make(map[Key]*list.Element)}
}

func (c *Cache) expired(e *entry, now time.Time) bool {
	return now.Sub(e.inserted) > c.ttl
}

func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*entry)
	wipe.Bytes(e.priv[:])
	e.pub = nil
	c.order.Remove(el)
	delete(c.items, e.key)
}

// Get copies the cached private key into dst and returns a copy of the public
// key. A hit refreshes recency; an expired entry is removed and reported as a
// miss.
func (c *Cache) Get(k Key, now time.Time, dst *[32]byte) (pub []byte, ok bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if c.expired(e, now) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	*dst = e.priv
	if e.pub != nil {
		pub = append([]byte(nil), e.pub...)
	}
	return pub, true
}

// Put stores copies of priv and pub under k, replacing (and wiping) an older
// entry for k and evicting the least recently used entry when full.
func (c *Cache) Put(k Key, priv *[32]byte, pub []byte, now time.Time) {
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	e := &entry{key: k, priv: *priv, inserted: now}
	if pub != nil {
		e.pub = append([]byte(nil), pub...)
	}
	c.items[k] = c.order.PushFront(e)
}

// EvictExpired removes every expired entry.
func (c *Cache) EvictExpired(now time.Time) {
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if c.expired(el.Value.(*entry), now) {
			c.remove(el)
		}
		el = next
	}
}

// Clear wipes and removes every entry.
func (c *Cache) Clear() {
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		c.remove(el)
		el = next
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache) Len() int { return c.order.Len() }

// Buffers returns slices aliasing every cached private key, most recently
// used first. It exists for the vault's white-box wiping tests (VAULT-T41).
func (c *Cache) Buffers() [][]byte {
	var out [][]byte
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry).priv[:])
	}
	return out
}
