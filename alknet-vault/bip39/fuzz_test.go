package bip39_test

import (
	"bytes"
	"testing"

	"github.com/alknet/alknet/alknet-vault/bip39"
	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
)

// VAULT-T50: FuzzParseMnemonic never panics; a valid input round-trips
// through its entropy to the canonical form; every error carries a code.
func FuzzParseMnemonic(f *testing.F) {
	for _, s := range []string{
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		"ZOO zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong\n",
		"bless cloud wheel regular tiny venue bird web grief security dignity zoo",
		"",
		"\xff\xfe",
		"abandon\u3000abandon",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		canonical, err := bip39.Parse(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Parse modified its input")
		}
		if err != nil {
			if vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic {
				t.Fatalf("Parse(%q) error %v has code %q", in, err, vaulterr.CodeOf(err))
			}
			return
		}
		entropy, err := bip39.ToEntropy(in)
		if err != nil {
			t.Fatalf("ToEntropy of a valid phrase: %v", err)
		}
		again, err := bip39.FromEntropy(entropy)
		if err != nil || !bytes.Equal(again, canonical) {
			t.Fatalf("FromEntropy(ToEntropy(%q)) = %q, %v; want %q", in, again, err, canonical)
		}
	})
}
