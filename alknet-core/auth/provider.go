package auth

import "context"

// IdentityProvider resolves credentials to identities. Implementations must be safe for
// concurrent use and must answer from memory: it is called for every connection and
// every authenticated request.
//
// false means "not recognized" and callers treat it exactly like a wrong credential
// (CORE-R920). Providers never return partial identities, and the identities they return
// are copies (CORE-R903). The ctx lets a remote provider honour deadlines; in-memory
// providers ignore it and never block (CORE-R921).
type IdentityProvider interface {
	ResolveFingerprint(ctx context.Context, fingerprint string) (Identity, bool)
	ResolveToken(ctx context.Context, token AuthToken) (Identity, bool)
}

// ChangeNotifier is implemented by providers whose data can change at run time.
type ChangeNotifier interface {
	// Changed returns a channel closed at the next change after the call.
	Changed() <-chan struct{}
}

// IdentityStore is the optional write side used by persistent adapters (the SQLite peer
// store). ConfigIdentityProvider does not implement it; its write path is a config reload.
// Writes validate the resulting peer set with the rules of Compile and fail with
// STORE_INVALID when they would break them (CORE-R923).
type IdentityStore interface {
	IdentityProvider
	// PutPeer inserts p or replaces the peer with the same PeerID.
	PutPeer(ctx context.Context, p PeerEntry) error
	// UpdatePeer replaces peerID's entry with p; STORE_NOT_FOUND if absent.
	UpdatePeer(ctx context.Context, peerID string, p PeerEntry) error
	// RemovePeer deletes peerID; STORE_NOT_FOUND if absent.
	RemovePeer(ctx context.Context, peerID string) error
	// GetPeer returns peerID's entry; found is false when absent.
	GetPeer(ctx context.Context, peerID string) (PeerEntry, bool, error)
	// ListPeers returns every peer sorted by PeerID.
	ListPeers(ctx context.Context) ([]PeerEntry, error)
}
