// Package slip10 implements SLIP-0010 Ed25519 key derivation (hardened
// children only) and the derivation-path grammar of spec/vault.md §4–§5.
//
// The functions are stateless and safe for concurrent use; a [Node] is not.
// A Node's private key is an RFC 8032 Ed25519 seed (VAULT-R32). Nodes hold
// secret material and redact it in every printed, logged or JSON form
// (VAULT-R97). Errors are *vault.Error values (VAULT-R102).
package slip10

import (
	"crypto/ed25519"
	"crypto/fips140"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/internal/wipe"
)

// masterKey is the SLIP-0010 HMAC key for the ed25519 curve.
const masterKey = "ed25519 seed"

const redacted = "[REDACTED]"

// nodeSecret sits behind a pointer so that fmt, reaching a Node by
// reflection inside another struct, prints only an address (VAULT-R94).
type nodeSecret struct {
	key   [32]byte
	chain [32]byte
	wiped bool
}

// Node is an extended private key: a 32-byte private key and a 32-byte chain
// code. The zero Node and a wiped Node have no key. A Node is not safe for
// concurrent use.
type Node struct {
	s *nodeSecret
}

// MasterEd25519 returns the master node I = HMAC-SHA512("ed25519 seed", seed)
// (VAULT-R30). The seed must be 16..64 bytes, else VAULT_DERIVATION_FAILED.
// Under GODEBUG=fips140=only it returns VAULT_FIPS_ONLY_MODE before calling
// any primitive (VAULT-R17). seed is not modified or retained.
func MasterEd25519(seed []byte) (*Node, error) {
	if fips140.Enforced() {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	if len(seed) < 16 || len(seed) > 64 {
		return nil, vaulterr.New(vaulterr.CodeDerivationFailed,
			"key derivation failed: seed is "+strconv.Itoa(len(seed))+" bytes, want 16..64")
	}
	mac := hmac.New(sha512.New, []byte(masterKey))
	mac.Write(seed)
	return split(mac.Sum(make([]byte, 0, sha512.Size))), nil
}

// split copies I into a new node and wipes I.
func split(i []byte) *Node {
	s := &nodeSecret{}
	copy(s.key[:], i[:32])
	copy(s.chain[:], i[32:64])
	wipe.Bytes(i)
	return &Node{s: s}
}

func (n *Node) live() bool {
	return n != nil && n.s != nil && !n.s.wiped
}

// ChildEd25519 returns the hardened child i (i >= [HardenedOffset]):
// I = HMAC-SHA512(c_par, 0x00 || k_par || ser32(i)) (VAULT-R30). A
// non-hardened i is VAULT_INVALID_PATH (VAULT-R31); a wiped or zero node is
// VAULT_KEY_WIPED. n is not modified.
func (n *Node) ChildEd25519(i uint32) (*Node, error) {
	if i < HardenedOffset {
		return nil, invalidPath("ed25519 derivation requires hardened indices")
	}
	if !n.live() {
		return nil, vaulterr.ErrKeyWiped
	}
	if fips140.Enforced() {
		return nil, vaulterr.ErrFIPSOnlyMode
	}
	var data [37]byte
	copy(data[1:33], n.s.key[:])
	binary.BigEndian.PutUint32(data[33:], i)
	mac := hmac.New(sha512.New, n.s.chain[:])
	mac.Write(data[:])
	wipe.Bytes(data[:])
	return split(mac.Sum(make([]byte, 0, sha512.Size))), nil
}

// DeriveEd25519 derives the node at p from seed. Every index of p must be
// hardened (VAULT-R31, VAULT_INVALID_PATH); the master path "m" is accepted
// here (VAULT-R34). Intermediate nodes are wiped as soon as their child
// exists. Errors are those of [MasterEd25519] and [Node.ChildEd25519].
func DeriveEd25519(seed []byte, p Path) (*Node, error) {
	if !p.AllHardened() {
		return nil, invalidPath("ed25519 derivation requires hardened indices")
	}
	n, err := MasterEd25519(seed)
	if err != nil {
		return nil, err
	}
	for _, i := range p.indices {
		c, err := n.ChildEd25519(i)
		n.Wipe()
		if err != nil {
			return nil, err
		}
		n = c
	}
	return n, nil
}

// PrivateKey returns the 32-byte private key, an RFC 8032 Ed25519 seed. The
// slice aliases the node's buffer, so [Node.Wipe] zeroes it. It is nil for a
// wiped or zero node.
func (n *Node) PrivateKey() []byte {
	if !n.live() {
		return nil
	}
	return n.s.key[:]
}

// ChainCode returns the 32-byte chain code, aliasing the node's buffer like
// [Node.PrivateKey]. It is nil for a wiped or zero node.
func (n *Node) ChainCode() []byte {
	if !n.live() {
		return nil
	}
	return n.s.chain[:]
}

// PublicKeyEd25519 returns the 32-byte Ed25519 public key of the private
// key (without the 0x00 prefix of the SLIP-0010 vectors), or nil for a wiped
// or zero node.
func (n *Node) PublicKeyEd25519() []byte {
	if !n.live() {
		return nil
	}
	return PublicKey(n.s.key[:])
}

// PublicKey returns the Ed25519 public key for a 32-byte RFC 8032 seed, or
// nil when seed is not 32 bytes. The expanded private key is wiped.
func PublicKey(seed []byte) []byte {
	if len(seed) != ed25519.SeedSize {
		return nil
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := make([]byte, ed25519.PublicKeySize)
	copy(pub, priv[32:])
	wipe.Bytes(priv)
	return pub
}

// Wipe zeroes the private key and chain code. It is idempotent and safe on a
// nil or zero node.
func (n *Node) Wipe() {
	if n == nil || n.s == nil {
		return
	}
	wipe.Bytes(n.s.key[:])
	wipe.Bytes(n.s.chain[:])
	n.s.wiped = true
}

// String returns a fixed redacted form.
func (n Node) String() string {
	return "slip10.Node{private_key: " + redacted + ", chain_code: " + redacted + "}"
}

// GoString returns the same redacted form as String.
func (n Node) GoString() string { return n.String() }

// Format prints the redacted form for every verb, %#v included.
func (n Node) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(n.String())) }

// LogValue redacts the node for log/slog.
func (n Node) LogValue() slog.Value {
	return slog.GroupValue(slog.String("private_key", redacted), slog.String("chain_code", redacted))
}

// MarshalJSON emits the key fields as "[REDACTED]".
func (n Node) MarshalJSON() ([]byte, error) {
	return []byte(`{"private_key":"[REDACTED]","chain_code":"[REDACTED]"}`), nil
}
