package registry

import (
	"slices"

	"github.com/alknet/alknet/alknet-core/auth"
)

// ForwardedIdentity is a claim about an originating caller, made by a forwarding node, or the
// record of the identity this node authenticated for a root call ([OperationContext.Origin]).
// It deliberately is not auth.Identity: [AccessControl.Check] cannot take it, and no code in
// this module turns one into an auth.Identity (ACL-R7, FWD-R2). Treat it as unverified
// (FWD-R6); log only its ID (FWD-R7). Its JSON form is the forwarded_for object of FWD-R1.
type ForwardedIdentity struct {
	ID        string              `json:"id"`
	Scopes    []string            `json:"scopes"`
	Resources map[string][]string `json:"resources"`
}

// Limits on a decoded forwarded_for claim (FWD-R3).
const (
	maxClaimString = 256
	maxClaimList   = 256
)

// validClaim applies the size limits of FWD-R3.
func validClaim(f *ForwardedIdentity) bool {
	if f == nil || f.ID == "" || len(f.ID) > maxClaimString || len(f.Scopes) > maxClaimList || len(f.Resources) > maxClaimList {
		return false
	}
	for _, s := range f.Scopes {
		if len(s) > maxClaimString {
			return false
		}
	}
	for k, v := range f.Resources {
		if len(k) > maxClaimString || len(v) > maxClaimList {
			return false
		}
		for _, a := range v {
			if len(a) > maxClaimString {
				return false
			}
		}
	}
	return true
}

// clone returns a deep copy of f (nil for nil).
func (f *ForwardedIdentity) clone() *ForwardedIdentity {
	if f == nil {
		return nil
	}
	return &ForwardedIdentity{ID: f.ID, Scopes: slices.Clone(f.Scopes), Resources: cloneResources(f.Resources)}
}

// originOf records the identity this node authenticated as a claim-typed deep copy (FWD-R4).
func originOf(id *auth.Identity) *ForwardedIdentity {
	if id == nil {
		return nil
	}
	o := &ForwardedIdentity{ID: id.ID, Scopes: slices.Clone(id.Scopes), Resources: cloneResources(id.Resources)}
	if o.Scopes == nil {
		o.Scopes = []string{}
	}
	return o
}
