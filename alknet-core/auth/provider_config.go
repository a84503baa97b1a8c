package auth

import (
	"context"
	"time"
)

// PolicySource hands out the current compiled policy. config.Dynamic implements it; so
// does a *Policy, which returns itself.
type PolicySource interface{ Policy() *Policy }

// ConfigIdentityProvider resolves credentials against the current policy of a
// PolicySource (§10.6). Every call loads the policy once, so a reload is visible to the
// very next resolution and a resolution never sees a mix of two policies (CORE-R1030).
// It keeps nothing across restarts (CORE-R1220) and is safe for concurrent use.
type ConfigIdentityProvider struct {
	src PolicySource
}

var (
	_ IdentityProvider = (*ConfigIdentityProvider)(nil)
	_ ChangeNotifier   = (*ConfigIdentityProvider)(nil)
	_ PolicySource     = (*Policy)(nil)
)

// NewConfigIdentityProvider returns a provider reading src on every call. src must not
// be nil; a source whose Policy returns nil recognizes nothing.
func NewConfigIdentityProvider(src PolicySource) *ConfigIdentityProvider {
	return &ConfigIdentityProvider{src: src}
}

// ResolveFingerprint resolves a TLS client-certificate fingerprint with the current
// policy. It never blocks; ctx is unused.
func (p *ConfigIdentityProvider) ResolveFingerprint(_ context.Context, fingerprint string) (Identity, bool) {
	return p.src.Policy().ResolveFingerprint(fingerprint)
}

// ResolveToken resolves a bearer token with the current policy and the current time. It
// never blocks; ctx is unused.
func (p *ConfigIdentityProvider) ResolveToken(_ context.Context, token AuthToken) (Identity, bool) {
	return p.src.Policy().ResolveToken(token.bytes(), time.Now())
}

// Changed returns the source's change channel when the source is a ChangeNotifier, and
// nil (a channel that never fires) otherwise.
func (p *ConfigIdentityProvider) Changed() <-chan struct{} {
	if n, ok := p.src.(ChangeNotifier); ok {
		return n.Changed()
	}
	return nil
}
