package bip39

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// VAULT-R90, VAULT-R91, VAULT-R96: nfkd returns a new buffer of exactly the
// normalised size, allocated once, so no outgrown backing array holding part
// of a phrase or passphrase is left behind unwiped, and the caller's input is
// never aliased.
func TestNFKDExactBuffer(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"",
		"abandon about",
		"Caf\u00e9 \ufb01ne \u2460 na\u00efve \u3000end",
		strings.Repeat("\ufdfa", 40), // 3 bytes each, 33 after NFKD
		strings.Repeat("a\u00e9", 300),
		"\uff4c\uff45\uff54\uff54\uff45\uff52 advice",
		strings.Repeat("\u1100\u1161\u11a8", 50) + strings.Repeat("e\u0301\u0323", 40),
	}
	for _, in := range inputs {
		src := []byte(in)
		got := nfkd(src)
		if want := norm.NFKD.Bytes([]byte(in)); !bytes.Equal(got, want) {
			t.Errorf("nfkd(%q) = %q, want %q", in, got, want)
		}
		if len(got) != cap(got) {
			t.Errorf("nfkd(%q): len %d, cap %d; want an exactly sized buffer", in, len(got), cap(got))
		}
		if len(got) > 0 && len(src) > 0 && unsafe.SliceData(got) == unsafe.SliceData(src) {
			t.Errorf("nfkd(%q) aliases its input", in)
		}
	}
}
