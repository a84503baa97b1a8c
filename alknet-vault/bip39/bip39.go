// Package bip39 implements BIP-39 mnemonics with the official English
// wordlist: generation, parsing and validation, entropy conversion and the
// PBKDF2-HMAC-SHA512 seed (spec/vault.md §3).
//
// The functions are stateless and safe for concurrent use. Every returned
// secret slice is newly allocated and owned by the caller, who should wipe it
// when done. Inputs are never modified or retained (VAULT-R96). Errors are
// *vault.Error values (VAULT-R102) whose details never contain phrase words
// or passphrase bytes (VAULT-R95).
package bip39

import (
	"bytes"
	"crypto/fips140"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"runtime"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/internal/wipe"
)

const (
	// MaxInputLen is the largest phrase or passphrase input accepted, in
	// bytes (VAULT-R13, VAULT-R15).
	MaxInputLen = 1024
	// SeedLen is the length of a BIP-39 seed in bytes.
	SeedLen = 64
	// pbkdf2Rounds is the BIP-39 iteration count.
	pbkdf2Rounds = 2048
)

func invalidMnemonic(detail string) error {
	return vaulterr.New(vaulterr.CodeInvalidMnemonic, "invalid mnemonic: "+detail)
}

func invalidPassphrase(detail string) error {
	return vaulterr.New(vaulterr.CodeInvalidPassphrase, "invalid passphrase: "+detail)
}

// nfkd returns the NFKD form of in as a new buffer owned by the caller, who
// wipes it (VAULT-R13, VAULT-R90). A first pass measures the normalised
// length, so the output is allocated once at its exact size: appending into
// a growing slice would leave outgrown backing arrays holding a prefix of
// the phrase or passphrase that nobody could wipe (VAULT-R91). The iterator's
// internal segment buffer is zeroed afterwards.
func nfkd(in []byte) []byte {
	it := new(norm.Iter)
	it.Init(norm.NFKD, in)
	n := 0
	for !it.Done() {
		n += len(it.Next())
	}
	*it = norm.Iter{}
	runtime.KeepAlive(it)
	return norm.NFKD.Append(make([]byte, 0, n), in...)
}

// entropyLenForWords maps a word count to its entropy length in bytes
// (VAULT-R10); ok is false for any other count.
func entropyLenForWords(n int) (int, bool) {
	switch n {
	case 12, 15, 18, 21, 24:
		return n * 11 * 32 / 33 / 8, true
	}
	return 0, false
}

func wordCountError(n int) error {
	return invalidMnemonic("got " + strconv.Itoa(n) + " words, want 12, 15, 18, 21 or 24")
}

// Generate returns a new mnemonic of words words (12, 15, 18, 21 or 24),
// drawing the entropy from crypto/rand (VAULT-R12). The phrase is the words
// joined by single spaces, with no trailing newline. Any other count is
// VAULT_INVALID_MNEMONIC.
func Generate(words int) ([]byte, error) {
	n, ok := entropyLenForWords(words)
	if !ok {
		return nil, wordCountError(words)
	}
	entropy := make([]byte, n)
	defer wipe.Bytes(entropy)
	_, _ = rand.Read(entropy) // crypto/rand.Read never fails (Go 1.24+)
	return FromEntropy(entropy)
}

// FromEntropy returns the mnemonic for 16, 20, 24, 28 or 32 bytes of entropy
// (VAULT-R18). Any other length is VAULT_INVALID_MNEMONIC.
func FromEntropy(entropy []byte) ([]byte, error) {
	switch len(entropy) {
	case 16, 20, 24, 28, 32:
	default:
		return nil, invalidMnemonic("entropy is " + strconv.Itoa(len(entropy)) + " bytes, want 16, 20, 24, 28 or 32")
	}
	sum := sha256.Sum256(entropy)
	defer wipe.Bytes(sum[:])
	bits := len(entropy) * 8
	n := (bits + bits/32) / 11

	idx := make([]int, n)
	defer clear(idx)
	for w := range n {
		v := 0
		for b := w * 11; b < w*11+11; b++ {
			var bit byte
			if b < bits {
				bit = entropy[b/8] >> (7 - b%8) & 1
			} else {
				c := b - bits
				bit = sum[c/8] >> (7 - c%8) & 1
			}
			v = v<<1 | int(bit)
		}
		idx[w] = v
	}
	return join(idx), nil
}

// join builds the canonical phrase for word indices into an exactly sized
// buffer, so no partial copy is left behind by a growing slice.
func join(idx []int) []byte {
	size := len(idx) - 1
	for _, i := range idx {
		size += len(words[i])
	}
	out := make([]byte, 0, size)
	for k, i := range idx {
		if k > 0 {
			out = append(out, ' ')
		}
		out = append(out, words[i]...)
	}
	return out
}

// parse runs the VAULT-R13 steps and returns the word indices. The caller
// clears the returned slice.
func parse(input []byte) ([]int, error) {
	if len(input) > MaxInputLen {
		return nil, invalidMnemonic("input is longer than " + strconv.Itoa(MaxInputLen) + " bytes")
	}
	if !utf8.Valid(input) {
		return nil, invalidMnemonic("input is not valid UTF-8")
	}
	// A new buffer owned by the parser: norm.NFKD.Bytes may return its
	// argument itself, which must never be lowered or wiped (VAULT-R96).
	buf := nfkd(input)
	defer wipe.Bytes(buf)
	fields := bytes.Fields(buf)
	idx := make([]int, len(fields))
	for k, f := range fields {
		for j, c := range f {
			if 'A' <= c && c <= 'Z' {
				f[j] = c + ('a' - 'A')
			}
		}
		i, ok := index[string(f)]
		if !ok {
			clear(idx)
			return nil, invalidMnemonic("unknown word at position " + strconv.Itoa(k+1))
		}
		idx[k] = i
	}
	entLen, ok := entropyLenForWords(len(idx))
	if !ok {
		clear(idx)
		return nil, wordCountError(len(idx))
	}
	entropy := make([]byte, entLen)
	defer wipe.Bytes(entropy)
	if !unpack(idx, entropy) {
		clear(idx)
		return nil, invalidMnemonic("checksum mismatch")
	}
	return idx, nil
}

// unpack writes the entropy bits of idx into entropy and reports whether the
// trailing checksum bits match SHA-256 of the entropy.
func unpack(idx []int, entropy []byte) bool {
	bits := len(entropy) * 8
	csBits := bits / 32
	var cs byte
	for w, i := range idx {
		for k := range 11 {
			bit := byte(i>>(10-k)) & 1
			b := w*11 + k
			if b < bits {
				entropy[b/8] |= bit << (7 - b%8)
			} else {
				cs = cs<<1 | bit
			}
		}
	}
	sum := sha256.Sum256(entropy)
	want := sum[0] >> (8 - csBits)
	wipe.Bytes(sum[:])
	return cs == want
}

// Parse validates a mnemonic (VAULT-R13) and returns its canonical form: the
// list words joined by single ASCII spaces (VAULT-R14). Input may use any
// Unicode white space, any ASCII case and NFKD-equivalent characters. The
// result is newly allocated; the caller wipes it.
func Parse(input []byte) ([]byte, error) {
	idx, err := parse(input)
	if err != nil {
		return nil, err
	}
	defer clear(idx)
	return join(idx), nil
}

// ToEntropy parses phrase (VAULT-R13) and returns its entropy, the inverse of
// [FromEntropy]. The result is newly allocated; the caller wipes it.
func ToEntropy(phrase []byte) ([]byte, error) {
	idx, err := parse(phrase)
	if err != nil {
		return nil, err
	}
	defer clear(idx)
	n, _ := entropyLenForWords(len(idx))
	entropy := make([]byte, n)
	unpack(idx, entropy)
	return entropy, nil
}

// Seed parses phrase and returns the 64-byte BIP-39 seed
// PBKDF2-HMAC-SHA512(canonical phrase, "mnemonic" || NFKD(passphrase), 2048)
// (VAULT-R15, VAULT-R16). A nil passphrase means the empty one; the
// passphrase is neither trimmed nor case-folded.
//
// Errors: VAULT_FIPS_ONLY_MODE under GODEBUG=fips140=only (VAULT-R17),
// VAULT_INVALID_PASSPHRASE for a passphrase that is not UTF-8 or longer than
// 1024 bytes before or after normalisation, VAULT_INVALID_MNEMONIC for an
// invalid phrase. The result is newly allocated; the caller wipes it.
func Seed(phrase, passphrase []byte) ([]byte, error) {
	if fips140.Enforced() {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	if len(passphrase) > MaxInputLen {
		return nil, invalidPassphrase("longer than " + strconv.Itoa(MaxInputLen) + " bytes")
	}
	if !utf8.Valid(passphrase) {
		return nil, invalidPassphrase("not valid UTF-8")
	}
	normPass := nfkd(passphrase)
	defer wipe.Bytes(normPass)
	if len(normPass) > MaxInputLen {
		return nil, invalidPassphrase("longer than " + strconv.Itoa(MaxInputLen) + " bytes after NFKD normalisation")
	}
	salt := make([]byte, 0, len("mnemonic")+len(normPass))
	salt = append(salt, "mnemonic"...)
	salt = append(salt, normPass...)
	defer wipe.Bytes(salt)
	canonical, err := Parse(phrase)
	if err != nil {
		return nil, err
	}
	defer wipe.Bytes(canonical)
	// crypto/pbkdf2 takes the password as a string: one copy of the
	// canonical phrase that cannot be wiped (VAULT-R91, module README).
	seed, err := pbkdf2.Key(sha512.New, string(canonical), salt, pbkdf2Rounds, SeedLen)
	if err != nil {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	return seed, nil
}
