// Package tlsconf builds the TLS identities and configurations of alknet nodes
// (core.md §7).
//
// Go's crypto/tls has no RFC 7250 raw public keys, so a node's Ed25519 key (KindRawKey)
// is carried in a self-signed X.509 wrapper certificate generated at every start. Peers
// pin the key, not the certificate: the fingerprint of an Ed25519 certificate is
// "ed25519:<hex of the raw key>" (package fingerprint), which survives regeneration of
// the wrapper. X.509 certificates from PEM files (KindX509) are the alternative, and a
// throw-away ECDSA certificate (KindSelfSigned) serves development.
//
// ServerConfig requests, but does not require or chain-verify, a client certificate: the
// identity provider maps its fingerprint to a peer. ClientConfig verifies the server
// against a pinned set of fingerprints or, without pins, by CA chain and host name. There
// is no accept-any verifier: every other case fails closed (CORE-R712).
package tlsconf
