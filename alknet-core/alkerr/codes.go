package alkerr

// Codes defined by alknet-core (core.md §1). Other packages own the sentinel values; the
// constants live here so any package can produce any core code.
const (
	// CodeConnectionClosed: the connection is closed (either side, cleanly or not).
	CodeConnectionClosed Code = "CONNECTION_CLOSED"
	// CodeStreamClosed: one stream ended abnormally or cannot be opened on this connection.
	CodeStreamClosed Code = "STREAM_CLOSED"
	// CodeTimeout: idle timeout, handshake timeout or deadline.
	CodeTimeout Code = "TIMEOUT"
	// CodeUnsupported: operation not supported by this transport or build.
	CodeUnsupported Code = "UNSUPPORTED"
	// CodeIdentityAlreadySet: Connection.SetIdentity called twice.
	CodeIdentityAlreadySet Code = "IDENTITY_ALREADY_SET"
	// CodeAuthRequired: a handler could not authenticate the peer.
	CodeAuthRequired Code = "AUTH_REQUIRED"
	// CodeConfigInvalid: configuration failed validation; the message lists every problem
	// with a field path.
	CodeConfigInvalid Code = "CONFIG_INVALID"
	// CodeKeyFileNotFound: a certificate or key file does not exist.
	CodeKeyFileNotFound Code = "KEY_FILE_NOT_FOUND"
	// CodeTLSConfig: certificate or key unreadable, malformed or mismatched.
	CodeTLSConfig Code = "TLS_CONFIG"
	// CodeTLSPeerMismatch: the remote certificate does not match the pinned fingerprints.
	CodeTLSPeerMismatch Code = "TLS_PEER_MISMATCH"
	// CodeBindFailed: the UDP socket could not be bound.
	CodeBindFailed Code = "BIND_FAILED"
	// CodeALPNInvalid: an ALPN string breaks the alknet/<name> convention.
	CodeALPNInvalid Code = "ALPN_INVALID"
	// CodeALPNConflict: two handlers claim the same ALPN.
	CodeALPNConflict Code = "ALPN_CONFLICT"
	// CodeRegistrySealed: registering a handler after Build.
	CodeRegistrySealed Code = "REGISTRY_SEALED"
	// CodeEndpointClosed: Serve called after shutdown, or twice.
	CodeEndpointClosed Code = "ENDPOINT_CLOSED"
	// CodeStoreBackend: a store backend failed (I/O, locked or corrupt database).
	CodeStoreBackend Code = "STORE_BACKEND"
	// CodeStoreNotFound: an update or remove targeted a record that does not exist.
	CodeStoreNotFound Code = "STORE_NOT_FOUND"
	// CodeStoreSerialization: a stored blob could not be encoded or decoded.
	CodeStoreSerialization Code = "STORE_SERIALIZATION"
	// CodeStoreInvalid: a value handed to a store failed validation.
	CodeStoreInvalid Code = "STORE_INVALID"
	// CodeAPIKeyPrefixExhausted: GenerateAPIKey found no free prefix within its attempt
	// budget (CORE-R1023).
	CodeAPIKeyPrefixExhausted Code = "APIKEY_PREFIX_EXHAUSTED"
)

// CoreCodes returns every code defined by alknet-core, in the order of core.md §1.
func CoreCodes() []Code {
	return []Code{
		CodeConnectionClosed, CodeStreamClosed, CodeTimeout, CodeUnsupported,
		CodeIdentityAlreadySet, CodeAuthRequired, CodeConfigInvalid, CodeKeyFileNotFound,
		CodeTLSConfig, CodeTLSPeerMismatch, CodeBindFailed, CodeALPNInvalid, CodeALPNConflict,
		CodeRegistrySealed, CodeEndpointClosed, CodeStoreBackend, CodeStoreNotFound,
		CodeStoreSerialization, CodeStoreInvalid, CodeAPIKeyPrefixExhausted,
	}
}
