// Package aclfixture breaks FWD-R2 on purpose so the structural check can prove it reports.
package aclfixture

import (
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Literal builds an identity from a claim.
func Literal(f *registry.ForwardedIdentity) *auth.Identity {
	return &auth.Identity{ID: f.ID, Scopes: f.Scopes}
}

// Fields overwrites an identity's fields from a claim.
func Fields(f *registry.ForwardedIdentity) auth.Identity {
	var id auth.Identity
	id.Scopes = f.Scopes
	p := new(auth.Identity)
	p.ID = f.ID
	return id
}
