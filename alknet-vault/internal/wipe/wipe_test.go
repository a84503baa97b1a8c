package wipe

import "testing"

// VAULT-R90: Bytes zeroes the whole slice and accepts nil.
func TestBytes(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5}
	Bytes(b)
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d = %d after Bytes, want 0", i, c)
		}
	}
	Bytes(nil)
	Bytes([]byte{})
}
