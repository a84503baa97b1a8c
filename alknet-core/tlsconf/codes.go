package tlsconf

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of package tlsconf; match them with errors.Is (CORE-R010).
var (
	// ErrUnsupportedIdentity (UNSUPPORTED): the identity kind cannot be served by this
	// build; KindACME is reserved and deferred (CORE-R704).
	ErrUnsupportedIdentity = alkerr.New(alkerr.CodeUnsupported, "identity kind not supported")
	// ErrKeyFileNotFound (KEY_FILE_NOT_FOUND): a certificate or key file does not exist.
	ErrKeyFileNotFound = alkerr.New(alkerr.CodeKeyFileNotFound, "key file not found")
	// ErrTLSConfig (TLS_CONFIG): certificate or key unreadable, malformed or mismatched.
	ErrTLSConfig = alkerr.New(alkerr.CodeTLSConfig, "invalid TLS material")
	// ErrPeerMismatch (TLS_PEER_MISMATCH): the remote certificate does not match the pinned
	// fingerprints (CORE-R715).
	ErrPeerMismatch = alkerr.New(alkerr.CodeTLSPeerMismatch, "remote certificate not pinned")
)

// Codes returns the codes of the sentinels this package owns. Invalid client options
// carry CONFIG_INVALID, owned by package config.
func Codes() []alkerr.Code {
	return []alkerr.Code{
		alkerr.CodeUnsupported, alkerr.CodeKeyFileNotFound, alkerr.CodeTLSConfig, alkerr.CodeTLSPeerMismatch,
	}
}
