package aead

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func h(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// VAULT-T5: AES-256-GCM known answers with a 12-byte nonce and no AAD
// (test cases 13, 14 and 15 of the GCM specification, also in NIST's and
// Go's GCM test tables).
func TestKnownAnswers(t *testing.T) {
	cases := []struct{ key, nonce, pt, ct, tag string }{
		{
			key:   "0000000000000000000000000000000000000000000000000000000000000000",
			nonce: "000000000000000000000000",
			tag:   "530f8afbc74536b9a963b4f1c4cb738b",
		},
		{
			key:   "0000000000000000000000000000000000000000000000000000000000000000",
			nonce: "000000000000000000000000",
			pt:    "00000000000000000000000000000000",
			ct:    "cea7403d4d606b6e074ec5d3baf39d18",
			tag:   "d0d1c8a799996bf0265b98b5d48ab919",
		},
		{
			key:   "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
			nonce: "cafebabefacedbaddecaf888",
			pt:    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
			ct:    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
			tag:   "b094dac5d93471bdec1a502270e3cc6c",
		},
	}
	for i, c := range cases {
		key, nonce, pt := h(t, c.key), h(t, c.nonce), h(t, c.pt)
		want := h(t, c.ct+c.tag)
		got, err := Seal(key, nonce, pt)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d: Seal = %x, %v; want %x", i, got, err, want)
		}
		back, err := Open(key, nonce, want)
		if err != nil || !bytes.Equal(back, pt) {
			t.Errorf("case %d: Open = %x, %v; want %x", i, back, err, pt)
		}
		bad := bytes.Clone(want)
		bad[len(bad)-1] ^= 1
		if out, err := Open(key, nonce, bad); !errors.Is(err, ErrOpen) || out != nil {
			t.Errorf("case %d: Open(tampered) = %x, %v", i, out, err)
		}
	}
}

// VAULT-R101: wrong lengths are errors, not panics.
func TestBadArguments(t *testing.T) {
	key := make([]byte, 32)
	if _, err := Seal(key[:16], make([]byte, 12), nil); err == nil {
		t.Error("Seal accepted a 16-byte key")
	}
	for _, n := range []int{0, 11, 13} {
		if _, err := Seal(key, make([]byte, n), nil); err == nil {
			t.Errorf("Seal accepted a %d-byte nonce", n)
		}
		if _, err := Open(key, make([]byte, n), make([]byte, 16)); err == nil {
			t.Errorf("Open accepted a %d-byte nonce", n)
		}
	}
	if _, err := Open(key, make([]byte, 12), make([]byte, 15)); !errors.Is(err, ErrOpen) {
		t.Errorf("Open of 15 bytes = %v", err)
	}
	if _, err := Open(nil, make([]byte, 12), make([]byte, 16)); err == nil {
		t.Error("Open accepted a nil key")
	}
}
