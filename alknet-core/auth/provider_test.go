package auth_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
)

// newDynamic returns the real config holder over pol, the PolicySource the node uses.
func newDynamic(t testing.TB, pol auth.AuthPolicy) (*config.Dynamic, *config.ReloadHandle) {
	t.Helper()
	d, err := config.NewDynamic(config.DynamicConfig{Auth: pol}, nil)
	if err != nil {
		t.Fatalf("NewDynamic: %v", err)
	}
	return d, d.ReloadHandle()
}

// reload swaps the policy through the reload handle.
func reload(t testing.TB, h *config.ReloadHandle, pol auth.AuthPolicy) {
	t.Helper()
	if err := h.Reload(config.DynamicConfig{Auth: pol}, "local:test"); err != nil {
		t.Errorf("Reload: %v", err)
	}
}

// CORE-R1030: a provider over a fixed policy; Changed is nil without a notifier.
func TestConfigIdentityProvider(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	prov := auth.NewConfigIdentityProvider(mustCompile(t, samplePolicy()))
	if id, ok := prov.ResolveFingerprint(ctx, keyFP("worker-a-1")); !ok || id.ID != "worker-a" {
		t.Fatalf("ResolveFingerprint = %+v, %v", id, ok)
	}
	if id, ok := prov.ResolveToken(ctx, auth.NewAuthToken([]byte(apiToken))); !ok || id.ID != "alk_test" {
		t.Fatalf("ResolveToken = %+v, %v", id, ok)
	}
	// CORE-T909: mutating a resolved identity does not change later resolutions.
	id, _ := prov.ResolveFingerprint(ctx, keyFP("worker-a-1"))
	id.Scopes[0], id.Resources["service"][0] = auth.ScopeAdmin, "evil"
	if again, _ := prov.ResolveFingerprint(ctx, keyFP("worker-a-1")); again.HasScope(auth.ScopeAdmin) || again.Resources["service"][0] != "gitea" {
		t.Fatalf("mutation reached the provider: %+v", again)
	}
	if _, ok := prov.ResolveToken(ctx, auth.AuthToken{}); ok {
		t.Fatal("zero token recognized")
	}
	if prov.Changed() != nil {
		t.Fatal("Changed of a non-notifying source is not nil")
	}
	var nothing auth.IdentityProvider = auth.NewConfigIdentityProvider((*auth.Policy)(nil))
	if _, ok := nothing.ResolveFingerprint(ctx, keyFP("worker-a-1")); ok {
		t.Fatal("nil policy source recognized a fingerprint")
	}
}

// CORE-R1030, CORE-T1102-style: a swap is visible to the next resolution and wakes Changed.
func TestConfigIdentityProviderReload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, h := newDynamic(t, auth.AuthPolicy{})
	prov := auth.NewConfigIdentityProvider(src)
	fp := keyFP("late")
	if _, ok := prov.ResolveFingerprint(ctx, fp); ok {
		t.Fatal("resolved before the reload")
	}
	ch := prov.Changed()
	reload(t, h, auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "late", Fingerprints: []string{fp}}}})
	<-ch
	if id, ok := prov.ResolveFingerprint(ctx, fp); !ok || id.ID != "late" {
		t.Fatalf("after reload: %+v, %v", id, ok)
	}
	reload(t, h, auth.AuthPolicy{})
	if _, ok := prov.ResolveFingerprint(ctx, fp); ok {
		t.Fatal("resolved after removal")
	}
}

// CORE-R1030: readers racing a writer see one policy or the other, never a mix.
func TestConfigIdentityProviderConsistency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fp := keyFP("shared")
	polA := auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "alpha", Fingerprints: []string{fp}, Scopes: []string{"a1", "a2"}}}}
	polB := auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "beta", Fingerprints: []string{fp}, Scopes: []string{"b1"}, Resources: map[string][]string{"svc": {"x"}}}}}
	a := mustCompile(t, polA)
	wantA, _ := a.ResolveFingerprint(fp)
	wantB, _ := mustCompile(t, polB).ResolveFingerprint(fp)
	src, h := newDynamic(t, polA)
	prov := auth.NewConfigIdentityProvider(src)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				id, ok := prov.ResolveFingerprint(ctx, fp)
				if !ok || !(id.SameGrants(wantA) || id.SameGrants(wantB)) {
					t.Errorf("mixed identity %+v, %v", id, ok)
					return
				}
				id.Scopes = append(id.Scopes, "mutated") // must not leak into the policy
			}
		})
	}
	for i := range 500 {
		reload(t, h, []auth.AuthPolicy{polA, polB}[i%2])
	}
	stop.Store(true)
	wg.Wait()
	if id, _ := src.Policy().ResolveFingerprint(fp); slices.Contains(id.Scopes, "mutated") {
		t.Fatal("a reader's mutation reached the policy")
	}
}

// Interface checks.
var (
	_ auth.IdentityProvider = (*auth.ConfigIdentityProvider)(nil)
	_ auth.ChangeNotifier   = (*auth.ConfigIdentityProvider)(nil)
	_ auth.PolicySource     = (*config.Dynamic)(nil)
)
