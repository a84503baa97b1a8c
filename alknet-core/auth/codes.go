package auth

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of package auth; match them with errors.Is (CORE-R010).
var (
	// ErrAuthRequired (AUTH_REQUIRED): a handler could not authenticate the peer. The
	// endpoint closes such a connection with CloseAuthRequired (CORE-R204).
	ErrAuthRequired = alkerr.New(alkerr.CodeAuthRequired, "authentication required")

	// ErrPrefixExhausted (APIKEY_PREFIX_EXHAUSTED): GenerateAPIKey found no free prefix
	// within MaxAPIKeyAttempts candidates (CORE-R1023).
	ErrPrefixExhausted = alkerr.New(alkerr.CodeAPIKeyPrefixExhausted, "no free API key prefix found")
)

// Codes returns the codes of the sentinels this package owns. Policy validation errors
// carry CONFIG_INVALID, owned by package config.
func Codes() []alkerr.Code {
	return []alkerr.Code{alkerr.CodeAuthRequired, alkerr.CodeAPIKeyPrefixExhausted}
}
