// Package auth is alknet's authentication model (core.md §9, §10).
//
// An Identity is an authenticated principal: a peer (stable peer_id, resolved from a TLS
// client-certificate fingerprint or a peer bearer token) or an API key (identified by its
// 8-character prefix). IdentityProvider resolves credentials to identities and
// IdentityStore is the optional write side of persistent adapters. AuthPolicy is the
// configuration shape of peers and API keys; Compile validates it into an immutable
// Policy, the one resolution algorithm every adapter shares (CORE-R922), and
// ConfigIdentityProvider serves the current Policy of a PolicySource.
//
// Credentials (AuthToken, generated API keys) never print, log or marshal their bytes.
package auth
