package vault

import "github.com/alknet/alknet/alknet-vault/internal/vaulterr"

// Error is the coded error returned by every package of this module
// (VAULT-R102). Its Detail is safe to show (VAULT-R95); ErrorCode exposes the
// stable code to core's alkerr.CodeOf (VAULT-R100).
type Error = vaulterr.Error

// Code is a stable vault failure identifier (VAULT-R100).
type Code = vaulterr.Code

// The stable codes (spec/vault.md §12).
const (
	CodeLocked              = vaulterr.CodeLocked
	CodeAlreadyUnlocked     = vaulterr.CodeAlreadyUnlocked
	CodeInvalidMnemonic     = vaulterr.CodeInvalidMnemonic
	CodeInvalidPassphrase   = vaulterr.CodeInvalidPassphrase
	CodeInvalidPath         = vaulterr.CodeInvalidPath
	CodeInvalidKeyVersion   = vaulterr.CodeInvalidKeyVersion
	CodeInvalidPlaintext    = vaulterr.CodeInvalidPlaintext
	CodeMalformedCiphertext = vaulterr.CodeMalformedCiphertext
	CodeDecryptFailed       = vaulterr.CodeDecryptFailed
	CodeUnsupportedKeyType  = vaulterr.CodeUnsupportedKeyType
	CodeDerivationFailed    = vaulterr.CodeDerivationFailed
	CodeFIPSOnlyMode        = vaulterr.CodeFIPSOnlyMode
	CodeKeyWiped            = vaulterr.CodeKeyWiped
)

// Sentinels, one per code; errors.Is matches any *Error with the same code.
var (
	ErrLocked              = vaulterr.ErrLocked
	ErrAlreadyUnlocked     = vaulterr.ErrAlreadyUnlocked
	ErrInvalidMnemonic     = vaulterr.ErrInvalidMnemonic
	ErrInvalidPassphrase   = vaulterr.ErrInvalidPassphrase
	ErrInvalidPath         = vaulterr.ErrInvalidPath
	ErrInvalidKeyVersion   = vaulterr.ErrInvalidKeyVersion
	ErrInvalidPlaintext    = vaulterr.ErrInvalidPlaintext
	ErrMalformedCiphertext = vaulterr.ErrMalformedCiphertext
	ErrDecryptFailed       = vaulterr.ErrDecryptFailed
	ErrUnsupportedKeyType  = vaulterr.ErrUnsupportedKeyType
	ErrDerivationFailed    = vaulterr.ErrDerivationFailed
	ErrFIPSOnlyMode        = vaulterr.ErrFIPSOnlyMode
	ErrKeyWiped            = vaulterr.ErrKeyWiped
)

// CodeOf returns the code of the first vault *Error in err's chain, or ""
// when err is not a vault error.
func CodeOf(err error) Code { return vaulterr.CodeOf(err) }
