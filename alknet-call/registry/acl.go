package registry

import (
	"slices"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Denied is the refusal [AccessControl.Check] returns. Reason is the exact text of ACL-R3/R4;
// the dispatch core sends it as the FORBIDDEN message (ACL-R5).
type Denied struct{ Reason string }

// Error returns the reason.
func (d *Denied) Error() string { return d.Reason }

// ErrorCode returns FORBIDDEN, the code a denial is answered with.
func (d *Denied) ErrorCode() string { return callerr.Forbidden }

// HasRestrictions reports whether ac restricts anything (ACL-R1).
func (ac AccessControl) HasRestrictions() bool {
	return len(ac.RequiredScopes) > 0 || ac.RequiredScopesAny != nil || ac.ResourceType != "" || ac.ResourceAction != ""
}

// Check decides whether the direct caller id may invoke an operation guarded by ac. It returns
// nil when allowed and a *[Denied] otherwise (ACL-R2..R4). Its only input is an
// *auth.Identity: forwarded claims are a different type and cannot be passed here (ACL-R7).
// Matching is exact: no wildcards, no prefixes.
func (ac AccessControl) Check(id *auth.Identity) error {
	if !ac.HasRestrictions() {
		return nil
	}
	if id == nil {
		return &Denied{Reason: "authentication required"}
	}
	for _, s := range ac.RequiredScopes {
		if !slices.Contains(id.Scopes, s) {
			return &Denied{Reason: "missing required scope: " + s}
		}
	}
	if ac.RequiredScopesAny != nil {
		ok := false
		for _, s := range ac.RequiredScopesAny {
			if slices.Contains(id.Scopes, s) {
				ok = true
				break
			}
		}
		if !ok {
			return &Denied{Reason: "missing required scope (any of: " + joinScopes(ac.RequiredScopesAny) + ")"}
		}
	}
	switch {
	case ac.ResourceType != "" && ac.ResourceAction != "":
		if !slices.Contains(id.Resources[ac.ResourceType], ac.ResourceAction) {
			return &Denied{Reason: "missing resource: " + ac.ResourceType + "/" + ac.ResourceAction}
		}
	case ac.ResourceType != "":
		if len(id.Resources[ac.ResourceType]) == 0 {
			return &Denied{Reason: "missing resource: " + ac.ResourceType}
		}
	case ac.ResourceAction != "":
		found := false
		for _, actions := range id.Resources {
			if slices.Contains(actions, ac.ResourceAction) {
				found = true
				break
			}
		}
		if !found {
			return &Denied{Reason: "missing resource action: " + ac.ResourceAction}
		}
	}
	return nil
}
