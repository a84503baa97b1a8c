package keystore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
)

// CLI-F2: mutated keystore files never panic, never get past the KDF bounds, and unlock only
// when the values the associated data binds, the nonce and the ciphertext equal the
// original's. Seeds are sealed with the minimum KDF cost (testdata/seed-*.json, passphrase
// "correct horse").
func FuzzParse(f *testing.F) {
	orig, err := os.ReadFile(filepath.Join("testdata", "seed-sealed.json"))
	if err != nil {
		f.Fatal(err)
	}
	ref, err := keystore.Parse(orig)
	if err != nil {
		f.Fatal(err)
	}
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := keystore.Parse(b)
		if err != nil {
			return
		}
		if err := k.KDF.Check(); k.Protected() && err != nil {
			t.Fatalf("Parse accepted out-of-bounds KDF %+v", k.KDF)
		}
		if !k.Protected() {
			return
		}
		if _, err := k.Open([]byte("correct horse")); err == nil && !keystore.SameSealed(k, ref) {
			t.Fatalf("a modified keystore unlocked: %q", b)
		}
	})
}
