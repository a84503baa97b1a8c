package auth_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
)

// swapSource is an atomically swapped PolicySource with a change channel, the shape
// config.Dynamic has.
type swapSource struct {
	p       atomic.Pointer[auth.Policy]
	mu      sync.Mutex
	changed chan struct{} // guarded by mu; closed and replaced by set
}

func newSwapSource(p *auth.Policy) *swapSource {
	s := &swapSource{changed: make(chan struct{})}
	s.p.Store(p)
	return s
}

func (s *swapSource) Policy() *auth.Policy { return s.p.Load() }

func (s *swapSource) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *swapSource) set(p *auth.Policy) {
	s.p.Store(p)
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
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
	src := newSwapSource(mustCompile(t, auth.AuthPolicy{}))
	prov := auth.NewConfigIdentityProvider(src)
	fp := keyFP("late")
	if _, ok := prov.ResolveFingerprint(ctx, fp); ok {
		t.Fatal("resolved before the reload")
	}
	ch := prov.Changed()
	src.set(mustCompile(t, auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "late", Fingerprints: []string{fp}}}}))
	<-ch
	if id, ok := prov.ResolveFingerprint(ctx, fp); !ok || id.ID != "late" {
		t.Fatalf("after reload: %+v, %v", id, ok)
	}
	src.set(mustCompile(t, auth.AuthPolicy{}))
	if _, ok := prov.ResolveFingerprint(ctx, fp); ok {
		t.Fatal("resolved after removal")
	}
}

// CORE-R1030: readers racing a writer see one policy or the other, never a mix.
func TestConfigIdentityProviderConsistency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fp := keyFP("shared")
	a := mustCompile(t, auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "alpha", Fingerprints: []string{fp}, Scopes: []string{"a1", "a2"}}}})
	b := mustCompile(t, auth.AuthPolicy{Peers: []auth.PeerEntry{{PeerID: "beta", Fingerprints: []string{fp}, Scopes: []string{"b1"}, Resources: map[string][]string{"svc": {"x"}}}}})
	wantA, _ := a.ResolveFingerprint(fp)
	wantB, _ := b.ResolveFingerprint(fp)
	src := newSwapSource(a)
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
		src.set([]*auth.Policy{a, b}[i%2])
	}
	stop.Store(true)
	wg.Wait()
	if id, _ := a.ResolveFingerprint(fp); slices.Contains(id.Scopes, "mutated") {
		t.Fatal("a reader's mutation reached the policy")
	}
}

// Interface checks.
var (
	_ auth.IdentityProvider = (*auth.ConfigIdentityProvider)(nil)
	_ auth.ChangeNotifier   = (*auth.ConfigIdentityProvider)(nil)
	_ auth.PolicySource     = (*swapSource)(nil)
)
