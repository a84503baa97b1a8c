package registry_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// CTX-R1: a zero OperationContext is anonymous, non-internal, powerless, and reaches nothing.
func TestZeroOperationContext(t *testing.T) {
	t.Parallel()
	var oc registry.OperationContext
	if oc.Identity() != nil || oc.Authority() != nil || oc.IsInternal() || !oc.Scope().IsEmpty() ||
		oc.Capabilities().Len() != 0 || oc.Origin() != nil || oc.ForwardedFor() != nil || len(oc.Metadata()) != 0 {
		t.Error("zero OperationContext is not empty")
	}
	if _, err := oc.Env().Invoke(t.Context(), "fs/read", nil); codeOf(err) != callerr.NotFound {
		t.Errorf("zero context Invoke = %v", err)
	}
	if len(oc.Env().List()) != 0 || len(oc.Env().PeerIDs()) != 0 {
		t.Error("zero context lists something")
	}
	if _, err := oc.Env().Schema("fs/read"); codeOf(err) != callerr.NotFound {
		t.Errorf("zero context Schema = %v", err)
	}
}

// CTX-R3, FWD-R4: the root's accessors return copies; a handler changing them changes nothing.
func TestContextCopies(t *testing.T) {
	t.Parallel()
	caller := &auth.Identity{ID: "alice", Scopes: []string{"x"}, Resources: map[string][]string{"repo": {"read"}}, Origin: auth.OriginPeer}
	var second string
	h := registry.HandlerFunc(func(_ context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		id := oc.Identity()
		id.Scopes[0] = "admin"
		o := oc.Origin()
		o.Resources["repo"][0] = "write"
		oc.Metadata()["k"] = "changed"
		oc.Authority().Scopes[0] = "changed"
		second = oc.Identity().Scopes[0] + oc.Origin().Resources["repo"][0] + oc.Metadata()["k"] + oc.Authority().Scopes[0]
		return nil, nil
	})
	scope := registry.NewScopedEnv()
	r := mustBuild(t, registry.NewBuilder().Local(ext("a/b", "x"), h, &registry.CompositionAuthority{Label: "a", Scopes: []string{"s"}}, &scope, noCaps))
	if _, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "a/b", Identity: caller, Metadata: map[string]string{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	if second != "xreadvs" || caller.Scopes[0] != "x" || caller.Resources["repo"][0] != "read" {
		t.Errorf("accessors are not copies: %q, caller %+v", second, caller)
	}
}

// ScopedEnv value semantics (ENV-R3, ROUTE-R3).
func TestScopedEnv(t *testing.T) {
	t.Parallel()
	s := registry.NewScopedEnv("a/a", "b/b")
	p := s.WithPinned(registry.PeerOp{Peer: "w", Op: "c/c"})
	if s.AllowsVia(registry.Peer("w"), "c/c") {
		t.Error("WithPinned changed its receiver")
	}
	if !p.AllowsVia(registry.Peer("w"), "c/c") || p.AllowsVia(registry.AnyPeer(), "c/c") || p.AllowsVia(registry.Peer("v"), "c/c") {
		t.Error("pinned entry semantics wrong")
	}
	if !p.AllowsVia(registry.Peer("v"), "a/a") || !p.Allows("b/b") {
		t.Error("peer-agnostic entry not allowed through a peer")
	}
	n := p.Narrow("a/a", "c/c")
	if n.Allows("b/b") || !n.Allows("a/a") || !n.AllowsVia(registry.Peer("w"), "c/c") {
		t.Error("Narrow wrong")
	}
	if !(registry.ScopedEnv{}).IsEmpty() || registry.NewScopedEnv("a/a").IsEmpty() {
		t.Error("IsEmpty wrong")
	}
	if id, ok := registry.Peer("").Specific(); !ok || id != "" {
		t.Error(`Peer("") is not Specific`)
	}
	if _, ok := (registry.PeerRef{}).Specific(); ok {
		t.Error("zero PeerRef is not Any")
	}
	if (*registry.CompositionAuthority)(nil).AsIdentity() != nil {
		t.Error("nil authority as identity is not nil")
	}
	id := (&registry.CompositionAuthority{Label: "l", Scopes: []string{"s"}}).AsIdentity()
	if id.ID != "l" || id.Origin != auth.OriginComposition || id.Scopes[0] != "s" {
		t.Errorf("AsIdentity = %+v", id)
	}
	if registry.Observers(nil, nil) != nil {
		t.Error("Observers of nils is not nil")
	}
}
