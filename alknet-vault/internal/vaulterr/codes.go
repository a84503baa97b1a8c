package vaulterr

// Code is a stable failure identifier of the vault module. It appears in the
// CLI's --json output (VAULT-R100): never rename or reuse one.
type Code string

// The stable codes, one per failure class (spec/vault.md §12).
const (
	CodeLocked              Code = "VAULT_LOCKED"
	CodeAlreadyUnlocked     Code = "VAULT_ALREADY_UNLOCKED"
	CodeInvalidMnemonic     Code = "VAULT_INVALID_MNEMONIC"
	CodeInvalidPassphrase   Code = "VAULT_INVALID_PASSPHRASE"
	CodeInvalidPath         Code = "VAULT_INVALID_PATH"
	CodeInvalidKeyVersion   Code = "VAULT_INVALID_KEY_VERSION"
	CodeInvalidPlaintext    Code = "VAULT_INVALID_PLAINTEXT"
	CodeMalformedCiphertext Code = "VAULT_MALFORMED_CIPHERTEXT"
	CodeDecryptFailed       Code = "VAULT_DECRYPT_FAILED"
	CodeUnsupportedKeyType  Code = "VAULT_UNSUPPORTED_KEY_TYPE"
	CodeDerivationFailed    Code = "VAULT_DERIVATION_FAILED"
	CodeFIPSOnlyMode        Code = "VAULT_FIPS_ONLY_MODE"
	CodeKeyWiped            Code = "VAULT_KEY_WIPED"
)

// AllCodes lists every code once, in the order of the spec's table. Tests
// check it against docs/errors.md.
var AllCodes = []Code{
	CodeLocked,
	CodeAlreadyUnlocked,
	CodeInvalidMnemonic,
	CodeInvalidPassphrase,
	CodeInvalidPath,
	CodeInvalidKeyVersion,
	CodeInvalidPlaintext,
	CodeMalformedCiphertext,
	CodeDecryptFailed,
	CodeUnsupportedKeyType,
	CodeDerivationFailed,
	CodeFIPSOnlyMode,
	CodeKeyWiped,
}
