// Package aead is the only place that sees a raw AES key: AES-256-GCM seal
// and open with a 12-byte nonce, a 16-byte tag and no additional data
// (VAULT-R50). Only package vault imports it (VAULT-T47). The AEAD is built
// per call and not retained (VAULT-R91).
package aead

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

const (
	// KeySize is the AES-256 key length.
	KeySize = 32
	// NonceSize is the GCM nonce length.
	NonceSize = 12
	// TagSize is the GCM tag length appended to the ciphertext.
	TagSize = 16
)

// ErrOpen is returned for every authentication failure.
var ErrOpen = errors.New("aead: message authentication failed")

var errArgs = errors.New("aead: key must be 32 bytes and nonce 12 bytes")

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errArgs
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal returns ciphertext || tag for plaintext under key and nonce. Wrong
// key or nonce lengths are an error, never a panic (VAULT-R101).
func Seal(key, nonce, plaintext []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, errArgs
	}
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return g.Seal(make([]byte, 0, len(plaintext)+TagSize), nonce, plaintext, nil), nil
}

// Open authenticates and decrypts ciphertext || tag. Any failure, including
// a short input, is [ErrOpen] or the argument error.
func Open(key, nonce, data []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, errArgs
	}
	if len(data) < TagSize {
		return nil, ErrOpen
	}
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	pt, err := g.Open(make([]byte, 0, len(data)-TagSize), nonce, data, nil)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
