package keycache

import (
	"bytes"
	"testing"
	"time"
)

func key(b byte) *[32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b
	}
	return &k
}

func allZero(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }

// VAULT-R81, VAULT-T14: TTL from insertion, hit at exactly the TTL, miss one
// nanosecond later; EvictExpired; copies on hit.
func TestTTL(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := New(time.Minute, 4)
	k := Key{"Ed25519", "m/0'"}
	c.Put(k, key(7), []byte{1, 2}, t0)
	var dst [32]byte
	pub, ok := c.Get(k, t0.Add(time.Minute), &dst)
	if !ok || dst != *key(7) || !bytes.Equal(pub, []byte{1, 2}) {
		t.Fatalf("Get at exactly the TTL = %v, %x", ok, dst)
	}
	pub[0] = 9
	if p2, _ := c.Get(k, t0, &dst); p2[0] != 1 {
		t.Error("Get returned an alias of the cached public key")
	}
	buf := c.Buffers()[0]
	if _, ok := c.Get(k, t0.Add(time.Minute+1), &dst); ok {
		t.Fatal("Get one nanosecond after the TTL hit")
	}
	if c.Len() != 0 || !allZero(buf) {
		t.Errorf("expired entry not removed and wiped: len %d, buf %x", c.Len(), buf)
	}

	c.Put(Key{"a", "1"}, key(1), nil, t0)
	c.Put(Key{"a", "2"}, key(2), nil, t0.Add(30*time.Second))
	bufs := c.Buffers() // most recent first
	c.EvictExpired(t0.Add(time.Minute + time.Second))
	if c.Len() != 1 {
		t.Fatalf("EvictExpired left %d entries, want 1", c.Len())
	}
	if !allZero(bufs[1]) || allZero(bufs[0]) {
		t.Error("EvictExpired wiped the wrong buffer")
	}
}

// VAULT-R81, VAULT-R82, VAULT-T14, VAULT-T41: LRU eviction, recency refresh,
// replacement and Clear all wipe.
func TestLRU(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := New(time.Hour, 2)
	a, b, d := Key{"Ed25519", "a"}, Key{"Ed25519", "b"}, Key{"Ed25519", "d"}
	c.Put(a, key(1), nil, t0)
	c.Put(b, key(2), nil, t0)
	var dst [32]byte
	if _, ok := c.Get(a, t0, &dst); !ok { // a is now most recent
		t.Fatal("miss on a")
	}
	bufB := c.Buffers()[1]
	c.Put(d, key(3), nil, t0) // evicts b
	if _, ok := c.Get(b, t0, &dst); ok {
		t.Error("b survived although least recently used")
	}
	if !allZero(bufB) {
		t.Error("LRU-evicted buffer not wiped")
	}
	if _, ok := c.Get(a, t0, &dst); !ok {
		t.Error("a was evicted although recently used")
	}
	// Same path, different type: separate entries (VAULT-R80).
	c2 := New(time.Hour, 4)
	c2.Put(Key{"Ed25519", "p"}, key(1), []byte{1}, t0)
	c2.Put(Key{"Aes256Gcm", "p"}, key(2), nil, t0)
	if pub, ok := c2.Get(Key{"Ed25519", "p"}, t0, &dst); !ok || dst != *key(1) || pub == nil {
		t.Error("Ed25519 entry lost")
	}
	if pub, ok := c2.Get(Key{"Aes256Gcm", "p"}, t0, &dst); !ok || dst != *key(2) || pub != nil {
		t.Error("AES entry lost")
	}
	// Replacement wipes the old entry.
	old := c2.Buffers()[0]
	c2.Put(Key{"Aes256Gcm", "p"}, key(5), nil, t0)
	if !allZero(old) || c2.Len() != 2 {
		t.Errorf("replacement: old wiped %v, len %d", allZero(old), c2.Len())
	}
	all := c2.Buffers()
	c2.Clear()
	for _, b := range all {
		if !allZero(b) {
			t.Error("Clear left a buffer unwiped")
		}
	}
	if c2.Len() != 0 {
		t.Error("Clear left entries")
	}
}
