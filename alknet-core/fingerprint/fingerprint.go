// Package fingerprint computes, parses and compares certificate fingerprints (core.md §8).
//
// A certificate whose public key is Ed25519 is fingerprinted by its key, so a node keeps
// its fingerprint when its self-signed wrapper certificate is regenerated:
//
//	ed25519:<lowercase hex of the 32-byte raw public key>
//
// Every other certificate is fingerprinted over its DER encoding:
//
//	SHA256:<lowercase hex of SHA-256 over the leaf certificate DER>
//
// Fingerprints are public and compared as exact strings of their canonical form
// (CORE-R804).
package fingerprint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

const (
	// PrefixEd25519 starts the fingerprint of a certificate with an Ed25519 key.
	PrefixEd25519 = "ed25519:"
	// PrefixSHA256 starts the fingerprint of any other certificate.
	PrefixSHA256 = "SHA256:"

	hexLen = 64
)

// FromEd25519 returns "ed25519:" followed by the lowercase hex of pub. It is defined for
// 32-byte keys; the hex of whatever pub holds is used otherwise.
func FromEd25519(pub ed25519.PublicKey) string {
	return PrefixEd25519 + hex.EncodeToString(pub)
}

// FromCertificate returns the fingerprint of a leaf certificate: by key when its public
// key is Ed25519, whoever issued it (CORE-R802), otherwise over its DER bytes.
func FromCertificate(leaf *x509.Certificate) string {
	if pub, ok := leaf.PublicKey.(ed25519.PublicKey); ok {
		return FromEd25519(pub)
	}
	return fromDERBytes(leaf.Raw)
}

// FromDER parses der as an X.509 certificate and returns its fingerprint. Unparseable
// input is a CONFIG_INVALID error.
func FromDER(der []byte) (string, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return "", alkerr.Wrap(alkerr.CodeConfigInvalid, "fingerprint: parse certificate", err)
	}
	return FromCertificate(leaf), nil
}

func fromDERBytes(der []byte) string {
	sum := sha256.Sum256(der)
	return PrefixSHA256 + hex.EncodeToString(sum[:])
}

// Parse checks s and returns its canonical form: prefix "ed25519:" or "SHA256:" (accepted
// in any case) and 64 lowercase hex digits (accepted in either case) (CORE-R803). Anything
// else is a CONFIG_INVALID error whose message names the problem; the message never
// repeats the input.
func Parse(s string) (string, error) {
	if s == "" {
		return "", invalid("fingerprint is empty")
	}
	prefix, body, ok := strings.Cut(s, ":")
	if !ok {
		return "", invalid(`fingerprint has no "ed25519:" or "SHA256:" prefix`)
	}
	var canon string
	switch {
	case strings.EqualFold(prefix, "ed25519"):
		canon = PrefixEd25519
	case strings.EqualFold(prefix, "sha256"):
		canon = PrefixSHA256
	default:
		return "", invalid(`fingerprint prefix is not "ed25519:" or "SHA256:"`)
	}
	if isHex(body) {
		if len(body) != hexLen {
			return "", invalid("fingerprint must have 64 hex digits after the prefix")
		}
		return canon + strings.ToLower(body), nil
	}
	if canon == PrefixSHA256 && looksLikeSSH(body) {
		return "", invalid("fingerprint looks like an OpenSSH key fingerprint (base64); alknet " +
			"fingerprints are hex over the certificate or raw key, not SSH key fingerprints")
	}
	return "", invalid("fingerprint must have 64 hex digits after the prefix")
}

func invalid(msg string) error { return alkerr.New(alkerr.CodeConfigInvalid, msg) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// looksLikeSSH reports whether s could be the base64 part of an OpenSSH SHA256
// fingerprint: 43 characters of the base64 alphabet (no padding), or 44 ending in "=".
func looksLikeSSH(s string) bool {
	if len(s) == 44 && s[43] == '=' {
		s = s[:43]
	}
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
