package auth

import (
	"maps"
	"slices"
)

// AuthPolicy is the configuration shape of who may connect: peers and API keys (§10.1).
// Its JSON field names are persisted and never change.
type AuthPolicy struct {
	Peers   []PeerEntry   `json:"peers"`
	APIKeys []APIKeyEntry `json:"api_keys"`
}

// PeerEntry maps a stable logical peer id to its current credentials and grants. Rotating
// a credential changes Fingerprints or AuthTokenHash, never PeerID (§10.2).
type PeerEntry struct {
	PeerID        string              `json:"peer_id"`                   // ^[a-z0-9][a-z0-9.-]{0,62}$ (CORE-R1001)
	Fingerprints  []string            `json:"fingerprints"`              // ed25519:<hex> or SHA256:<hex>
	AuthTokenHash string              `json:"auth_token_hash,omitempty"` // "sha256:<hex>" of a bearer token
	Scopes        []string            `json:"scopes"`
	Resources     map[string][]string `json:"resources,omitempty"`
	DisplayName   string              `json:"display_name,omitempty"`
	Enabled       *bool               `json:"enabled,omitempty"` // absent = true
}

// IsEnabled reports whether the peer is enabled; an absent Enabled means true.
func (p PeerEntry) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// Clone returns a deep copy of p.
func (p PeerEntry) Clone() PeerEntry {
	c := p
	c.Fingerprints = slices.Clone(p.Fingerprints)
	c.Scopes = slices.Clone(p.Scopes)
	c.Resources = cloneResources(p.Resources)
	if p.Enabled != nil {
		e := *p.Enabled
		c.Enabled = &e
	}
	return c
}

// APIKeyEntry is a bearer token that is itself the identity: its Identity.ID is Prefix,
// and rotation means issuing a new key (§10.2).
type APIKeyEntry struct {
	Prefix      string   `json:"prefix"` // first 8 characters of the token, "alk_" + 4
	Hash        string   `json:"hash"`   // "sha256:<hex of SHA-256(token)>"
	Scopes      []string `json:"scopes"`
	Description string   `json:"description,omitempty"`
	ExpiresAt   *int64   `json:"expires_at,omitempty"` // Unix seconds; absent = never
}

// Clone returns a deep copy of k.
func (k APIKeyEntry) Clone() APIKeyEntry {
	c := k
	c.Scopes = slices.Clone(k.Scopes)
	if k.ExpiresAt != nil {
		e := *k.ExpiresAt
		c.ExpiresAt = &e
	}
	return c
}

// Clone returns a deep copy of p.
func (p AuthPolicy) Clone() AuthPolicy {
	var c AuthPolicy
	if p.Peers != nil {
		c.Peers = make([]PeerEntry, len(p.Peers))
		for i, e := range p.Peers {
			c.Peers[i] = e.Clone()
		}
	}
	if p.APIKeys != nil {
		c.APIKeys = make([]APIKeyEntry, len(p.APIKeys))
		for i, k := range p.APIKeys {
			c.APIKeys[i] = k.Clone()
		}
	}
	return c
}

func cloneResources(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	c := maps.Clone(m)
	for k, v := range c {
		c[k] = slices.Clone(v)
	}
	return c
}
