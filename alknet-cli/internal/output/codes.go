package output

// Code is one of the CLI's stable error codes (cli.md §11). The set is closed: scripts switch
// on it, so a code is never renamed, removed or reused (CLI-R62). A module code that differs
// travels as details.cause_code.
type Code string

// The closed set of CLI error codes, grouped by exit code (cli.md §11).
const (
	CodeInternal Code = "INTERNAL" // exit 1

	CodeUsage                Code = "USAGE"                 // exit 2
	CodeInvalidInput         Code = "INVALID_INPUT"         // exit 2
	CodeConfirmationRequired Code = "CONFIRMATION_REQUIRED" // exit 2

	CodeConfigInvalid  Code = "CONFIG_INVALID"   // exit 3
	CodeConfigNotFound Code = "CONFIG_NOT_FOUND" // exit 3
	CodeConfigManaged  Code = "CONFIG_MANAGED"   // exit 3 (deferred config provider, 13.1)

	CodeNotFound       Code = "NOT_FOUND"        // exit 4
	CodeNodeNotRunning Code = "NODE_NOT_RUNNING" // exit 4

	CodeAlreadyExists   Code = "ALREADY_EXISTS"   // exit 5
	CodeConflict        Code = "CONFLICT"         // exit 5
	CodeInstanceRunning Code = "INSTANCE_RUNNING" // exit 5

	CodePassphraseRequired  Code = "PASSPHRASE_REQUIRED"  // exit 6
	CodeWrongPassphrase     Code = "WRONG_PASSPHRASE"     // exit 6
	CodeForbidden           Code = "FORBIDDEN"            // exit 6
	CodeInsecurePermissions Code = "INSECURE_PERMISSIONS" // exit 6
	CodeWrongOwner          Code = "WRONG_OWNER"          // exit 6

	CodeStoreBusy Code = "STORE_BUSY" // exit 7

	CodeStoreCorrupt            Code = "STORE_CORRUPT"            // exit 8
	CodeStoreForeign            Code = "STORE_FOREIGN"            // exit 8
	CodeStoreSchemaTooNew       Code = "STORE_SCHEMA_TOO_NEW"     // exit 8
	CodeStoreSchemaOutdated     Code = "STORE_SCHEMA_OUTDATED"    // exit 8
	CodeStoreReadOnly           Code = "STORE_READ_ONLY"          // exit 8
	CodeStoreUnavailable        Code = "STORE_UNAVAILABLE"        // exit 8
	CodeKeystoreCorrupt         Code = "KEYSTORE_CORRUPT"         // exit 8
	CodeKeystoreMismatch        Code = "KEYSTORE_MISMATCH"        // exit 8
	CodeCredentialUndecryptable Code = "CREDENTIAL_UNDECRYPTABLE" // exit 8

	CodeBindFailed      Code = "BIND_FAILED"      // exit 9
	CodeConnectFailed   Code = "CONNECT_FAILED"   // exit 9
	CodeServerUntrusted Code = "SERVER_UNTRUSTED" // exit 9
	CodeConnectionLost  Code = "CONNECTION_LOST"  // exit 9

	CodeRemoteError Code = "REMOTE_ERROR" // exit 10

	CodeTimeout Code = "TIMEOUT" // exit 11

	CodeNotInitialized Code = "NOT_INITIALIZED" // exit 12

	CodeInterrupted Code = "INTERRUPTED" // exit 130
)

// exitCodes is the one table from code to process exit status (cli.md §11).
var exitCodes = map[Code]int{
	CodeInternal:                1,
	CodeUsage:                   2,
	CodeInvalidInput:            2,
	CodeConfirmationRequired:    2,
	CodeConfigInvalid:           3,
	CodeConfigNotFound:          3,
	CodeConfigManaged:           3,
	CodeNotFound:                4,
	CodeNodeNotRunning:          4,
	CodeAlreadyExists:           5,
	CodeConflict:                5,
	CodeInstanceRunning:         5,
	CodePassphraseRequired:      6,
	CodeWrongPassphrase:         6,
	CodeForbidden:               6,
	CodeInsecurePermissions:     6,
	CodeWrongOwner:              6,
	CodeStoreBusy:               7,
	CodeStoreCorrupt:            8,
	CodeStoreForeign:            8,
	CodeStoreSchemaTooNew:       8,
	CodeStoreSchemaOutdated:     8,
	CodeStoreReadOnly:           8,
	CodeStoreUnavailable:        8,
	CodeKeystoreCorrupt:         8,
	CodeKeystoreMismatch:        8,
	CodeCredentialUndecryptable: 8,
	CodeBindFailed:              9,
	CodeConnectFailed:           9,
	CodeServerUntrusted:         9,
	CodeConnectionLost:          9,
	CodeRemoteError:             10,
	CodeTimeout:                 11,
	CodeNotInitialized:          12,
	CodeInterrupted:             130,
}

// Codes returns every CLI error code, in no particular order.
func Codes() []Code {
	out := make([]Code, 0, len(exitCodes))
	for c := range exitCodes {
		out = append(out, c)
	}
	return out
}

// ExitCode returns the process exit status for c; a code outside the closed set is 1.
func ExitCode(c Code) int {
	if n, ok := exitCodes[c]; ok {
		return n
	}
	return 1
}

// known reports whether c belongs to the closed set.
func known(c Code) bool {
	_, ok := exitCodes[c]
	return ok
}

// moduleCodes maps the codes of other modules to CLI codes (CLI-R62). Codes not listed here
// and not in the closed set become INTERNAL, with the original as details.cause_code.
var moduleCodes = map[string]Code{
	// peer store (peer-store-sqlite.md §13) and core's store codes
	"STORE_NOT_FOUND":       CodeNotFound,
	"STORE_CONFLICT":        CodeConflict,
	"STORE_INVALID":         CodeInvalidInput,
	"STORE_SERIALIZATION":   CodeStoreCorrupt,
	"STORE_NOT_INITIALIZED": CodeNotInitialized,
	"STORE_BACKEND":         CodeInternal,
	// core
	"KEY_FILE_NOT_FOUND": CodeConfigInvalid,
	"TLS_CONFIG":         CodeConfigInvalid,
	"TLS_PEER_MISMATCH":  CodeServerUntrusted,
	"CONNECTION_CLOSED":  CodeConnectionLost,
	// vault
	"VAULT_INVALID_MNEMONIC":     CodeInvalidInput,
	"VAULT_INVALID_PASSPHRASE":   CodeInvalidInput,
	"VAULT_DECRYPT_FAILED":       CodeCredentialUndecryptable,
	"VAULT_MALFORMED_CIPHERTEXT": CodeCredentialUndecryptable,
}
