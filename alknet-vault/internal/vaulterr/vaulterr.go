// Package vaulterr holds the coded error type shared by the vault, bip39 and
// slip10 packages (VAULT-R102). Package vault re-exports everything here.
package vaulterr

import "errors"

// Error is a coded vault failure. Detail is safe to show to a user: it never
// contains phrase words, passphrase bytes, seeds, keys, plaintext or
// ciphertext (VAULT-R95).
type Error struct {
	// Code is the stable failure identifier (VAULT-R100).
	Code Code
	// Detail says what went wrong; it is safe to show and log (VAULT-R95).
	Detail string
}

// Error returns "vault: <detail>".
func (e *Error) Error() string {
	if e == nil {
		return "vault: <nil>"
	}
	return "vault: " + e.Detail
}

// ErrorCode returns the stable code as a string; core's alkerr.CodeOf finds
// vault errors in a chain through this method (VAULT-R100).
func (e *Error) ErrorCode() string {
	if e == nil {
		return ""
	}
	return string(e.Code)
}

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, ErrLocked) matches every VAULT_LOCKED error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && t.Code == e.Code
}

// New returns an *Error with the given code and detail.
func New(code Code, detail string) *Error {
	return &Error{Code: code, Detail: detail}
}

// CodeOf returns the code of the first *Error in err's chain, or "" when
// there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Code
	}
	return ""
}

// One sentinel per code, for errors.Is.
var (
	ErrLocked              = New(CodeLocked, "vault is locked")
	ErrAlreadyUnlocked     = New(CodeAlreadyUnlocked, "vault is already unlocked")
	ErrInvalidMnemonic     = New(CodeInvalidMnemonic, "invalid mnemonic")
	ErrInvalidPassphrase   = New(CodeInvalidPassphrase, "invalid passphrase")
	ErrInvalidPath         = New(CodeInvalidPath, "invalid derivation path")
	ErrInvalidKeyVersion   = New(CodeInvalidKeyVersion, "invalid key version")
	ErrInvalidPlaintext    = New(CodeInvalidPlaintext, "invalid plaintext")
	ErrMalformedCiphertext = New(CodeMalformedCiphertext, "malformed ciphertext")
	ErrDecryptFailed       = New(CodeDecryptFailed, "decryption failed")
	ErrUnsupportedKeyType  = New(CodeUnsupportedKeyType, "unsupported key type")
	ErrDerivationFailed    = New(CodeDerivationFailed, "key derivation failed")
	ErrFIPSOnlyMode        = New(CodeFIPSOnlyMode, "BIP-39 and SLIP-0010 key derivation are not available in FIPS 140-only mode (GODEBUG=fips140=only)")
	ErrKeyWiped            = New(CodeKeyWiped, "key has been wiped")
)
