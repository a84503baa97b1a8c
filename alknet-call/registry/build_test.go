package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/secret"
)

var streamer = registry.StreamHandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage, registry.Emit) error {
	return nil
})

// Test 4 [REG-R6, R7, R9, R10, R11, R14, CAP-R5]: every refusal is reported together.
func TestBuildRejects(t *testing.T) {
	t.Parallel()
	authority := &registry.CompositionAuthority{Label: "x", Scopes: []string{"a"}}
	scope := registry.NewScopedEnv("a/b")
	badScope := registry.NewScopedEnv("fs/*")
	badPin := registry.NewScopedEnv().WithPinned(registry.PeerOp{Peer: "", Op: "a/b"})
	caps := secret.Capabilities{}.WithAPIKey("svc", "k-secret")
	zeroType := ext("bad/zero-type")
	zeroType.Type = 0
	sub := ext("bad/sub-plain")
	sub.Type = registry.Subscription
	notFoundCode := ext("bad/code-not-found")
	notFoundCode.ErrorSchemas = []registry.ErrorDefinition{{Code: "NOT_FOUND"}}
	lowerCode := ext("bad/code-lower")
	lowerCode.ErrorSchemas = []registry.ErrorDefinition{{Code: "bad-code"}}
	okCode := ext("bad/code-ok")
	okCode.ErrorSchemas = []registry.ErrorDefinition{{Code: "ABORTED"}}
	anyEmpty := ext("bad/any-empty")
	anyEmpty.AccessControl.RequiredScopesAny = []string{}
	badSchema := ext("bad/schema")
	badSchema.InputSchema = json.RawMessage(`{"type": 12}`)

	b := registry.NewBuilder().
		Local(ext("dup/x"), echo, nil, nil, noCaps).
		Local(ext("dup/x"), echo, nil, nil, noCaps).
		Local(zeroType, echo, nil, nil, noCaps).
		Add(&registry.HandlerRegistration{Spec: ext("bad/zero-prov"), Handler: echo}).
		Add(&registry.HandlerRegistration{Spec: ext("bad/stream-on-query"), Stream: streamer, Provenance: registry.Local}).
		Local(sub, echo, nil, nil, noCaps).
		Add(&registry.HandlerRegistration{Spec: ext("bad/leaf-authority"), Handler: echo, Provenance: registry.FromOpenAPI, Authority: authority}).
		Add(&registry.HandlerRegistration{Spec: ext("bad/leaf-scope"), Handler: echo, Provenance: registry.FromMCP, Scope: &scope}).
		Add(&registry.HandlerRegistration{Spec: internalSpec("bad/session"), Handler: echo, Provenance: registry.Session, Authority: authority, Scope: &scope}).
		Local(notFoundCode, echo, nil, nil, noCaps).
		Local(lowerCode, echo, nil, nil, noCaps).
		Local(okCode, echo, nil, nil, noCaps).
		Local(anyEmpty, echo, nil, nil, noCaps).
		Local(badSchema, echo, nil, nil, noCaps).
		Local(ext("bad/scope-wildcard"), echo, authority, &badScope, noCaps).
		Local(ext("bad/pin-empty"), echo, authority, &badPin, noCaps).
		Local(ext("bad/caps-unrestricted"), echo, nil, nil, caps).
		Local(ext("good/caps-allowed"), echo, nil, nil, caps).
		AllowUnrestrictedCapabilities("good/caps-allowed").
		Local(ext("good/caps-restricted", "s"), echo, nil, nil, caps)
	r, err := b.Build()
	if r != nil || err == nil {
		t.Fatalf("Build = %v, %v; want an error", r, err)
	}
	msg := err.Error()
	for _, op := range []string{"bad/zero-type", "bad/zero-prov", "bad/stream-on-query", "bad/sub-plain", "bad/leaf-authority",
		"bad/leaf-scope", "bad/session", "bad/code-not-found", "bad/code-lower", "bad/code-ok", "bad/any-empty", "bad/schema",
		"bad/scope-wildcard", "bad/pin-empty", "bad/caps-unrestricted", "dup/x"} {
		if !strings.Contains(msg, op) {
			t.Errorf("Build error does not name %s", op)
		}
	}
	for _, op := range []string{"good/caps-allowed", "good/caps-restricted"} {
		if strings.Contains(msg, op) {
			t.Errorf("Build error names accepted op %s", op)
		}
	}
	if _, ok := errors.AsType[*registry.CollisionError](err); !ok {
		t.Error("duplicate name not reported as *CollisionError")
	}
	re, ok := errors.AsType[*registry.RegistrationError](err)
	if !ok || (re.ErrorCode() != registry.CodeInvalidRegistration && re.ErrorCode() != registry.CodeSchemaInvalid) {
		t.Errorf("no *RegistrationError with a registry code in %v", err)
	}
}

// Test 5 [REG-R13]: no mutator in the exported method set; [REG-R15] concurrent reads.
func TestRegistryImmutable(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[*registry.Registry]()
	for i := range typ.NumMethod() {
		name := strings.ToLower(typ.Method(i).Name)
		for _, bad := range []string{"add", "remove", "replace", "set", "register", "delete", "put", "update", "insert"} {
			if strings.HasPrefix(name, bad) {
				t.Errorf("*Registry has mutator-like method %s", typ.Method(i).Name)
			}
		}
	}
	b := registry.NewBuilder()
	for _, n := range []string{"a/a", "b/b", "c/c"} {
		b.Local(ext(n), echo, nil, nil, noCaps)
	}
	r := mustBuild(t, b)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 100 {
				if _, ok := r.Lookup("b/b"); !ok {
					t.Error("Lookup missed")
				}
				if n := r.Names(); len(n) != 3 || n[0] != "a/a" {
					t.Errorf("Names = %v", n)
				}
			}
		})
	}
	wg.Wait()
	// Names returns a copy.
	n := r.Names()
	n[0] = "zz/zz"
	if r.Names()[0] != "a/a" {
		t.Error("Names exposes the registry's slice")
	}
}

func leaf(name string, scopes ...string) *registry.HandlerRegistration {
	return &registry.HandlerRegistration{Spec: internalSpec(name, scopes...), Handler: echo, Provenance: registry.FromCall}
}

// Test 6 [REG-R18, REG-R19].
func TestImportedSet(t *testing.T) {
	t.Parallel()
	s := registry.NewImportedSet()
	if err := s.Register(leaf("w/a"), leaf("w/a")); !isCollision(err) {
		t.Errorf("batch with a duplicate: %v", err)
	}
	if len(s.Names()) != 0 {
		t.Error("refused batch left entries")
	}
	if err := s.Register(leaf("w/a"), leaf("w/b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(leaf("w/c"), leaf("w/a")); !isCollision(err) {
		t.Errorf("name already present: %v", err)
	}
	if _, ok := s.Lookup("w/c"); ok {
		t.Error("refused batch registered w/c")
	}
	authority := &registry.CompositionAuthority{Label: "x"}
	scope := registry.NewScopedEnv()
	for name, reg := range map[string]*registry.HandlerRegistration{
		"local":     {Spec: internalSpec("w/l"), Handler: echo, Provenance: registry.Local},
		"session":   {Spec: internalSpec("w/s"), Handler: echo, Provenance: registry.Session, Authority: authority, Scope: &scope},
		"authority": {Spec: internalSpec("w/x"), Handler: echo, Provenance: registry.FromCall, Authority: authority},
	} {
		if err := s.Register(reg); err == nil {
			t.Errorf("%s registration accepted", name)
		}
	}
	// Replace is atomic under concurrent Lookup: a reader sees either the old or the new set.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, a := s.Lookup("w/a")
			_, b := s.Lookup("w/b")
			_, n := s.Lookup("w/new")
			names := s.Names()
			if len(names) != 2 && len(names) != 1 {
				t.Errorf("Names mid-replace = %v", names)
				return
			}
			_ = a || b || n
		}
	})
	for i := range 200 {
		var err error
		if i%2 == 0 {
			err = s.Replace(leaf("w/new"))
		} else {
			err = s.Replace(leaf("w/a"), leaf("w/b"))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	s.Close()
	if _, ok := s.Lookup("w/a"); ok {
		t.Error("Lookup hit after Close")
	}
	if err := s.Register(leaf("w/z")); !errors.Is(err, registry.ErrSetClosed) {
		t.Errorf("Register after Close = %v", err)
	}
}

func isCollision(err error) bool {
	_, ok := errors.AsType[*registry.CollisionError](err)
	return ok
}

// Test 7 [REG-R17, ROUTE-R4].
func TestSessionOverlay(t *testing.T) {
	t.Parallel()
	creator := &registry.CompositionAuthority{Label: "agent", Scopes: []string{"fs:read", "net"}}
	scope := registry.NewScopedEnv("fs/read")
	sessionReg := func(spec registry.OperationSpec, a *registry.CompositionAuthority) *registry.HandlerRegistration {
		return &registry.HandlerRegistration{Spec: spec, Handler: constant(`"session"`), Provenance: registry.Session, Authority: a, Scope: &scope}
	}
	if _, err := registry.NewSessionOverlay(creator, sessionReg(ext("fs/read"), &registry.CompositionAuthority{Label: "s"})); err == nil {
		t.Error("External session registration accepted")
	}
	if _, err := registry.NewSessionOverlay(creator, sessionReg(internalSpec("fs/read"), &registry.CompositionAuthority{Label: "s", Scopes: []string{"admin"}})); err == nil {
		t.Error("authority wider than the creator accepted")
	}
	if _, err := registry.NewSessionOverlay(creator, &registry.HandlerRegistration{Spec: internalSpec("fs/read"), Handler: echo, Provenance: registry.Local}); err == nil {
		t.Error("Local registration accepted into a session overlay")
	}
	ov, err := registry.NewSessionOverlay(creator, sessionReg(internalSpec("fs/read"), &registry.CompositionAuthority{Label: "s", Scopes: []string{"fs:read"}}))
	if err != nil {
		t.Fatal(err)
	}
	// Layer 0 has its own fs/read; a composing op reaches the session's copy only inside the session.
	composer := registry.HandlerFunc(func(ctx context.Context, oc *registry.OperationContext, _ json.RawMessage) (json.RawMessage, error) {
		return oc.Env().Invoke(ctx, "fs/read", nil)
	})
	composeScope := registry.NewScopedEnv("fs/read")
	r := mustBuild(t, registry.NewBuilder().
		Local(internalSpec("fs/read"), constant(`"layer0"`), nil, nil, noCaps).
		Local(ext("job/run"), composer, &registry.CompositionAuthority{Label: "job"}, &composeScope, noCaps))
	for _, tc := range []struct {
		session registry.Source
		want    string
	}{{ov, `"session"`}, {nil, `"layer0"`}} {
		w := registry.WireCall{RequestID: "r", Operation: "/job/run", Routes: registry.Routes{Session: tc.session}}
		out, err := r.ServeCall(t.Context(), w, nil)
		if err != nil || string(out) != tc.want {
			t.Errorf("session %v: %s, %v; want %s", tc.session != nil, out, err, tc.want)
		}
	}
	// A wire call never reaches the session layer (REG-R20).
	w := registry.WireCall{RequestID: "r", Operation: "/fs/read", Routes: registry.Routes{Session: ov}}
	if _, err := r.ServeCall(t.Context(), w, nil); codeOf(err) != callerr.NotFound {
		t.Errorf("wire call into the session layer: %v", err)
	}
}

// Test 96 [REG-R23]: a compiled spec is reused when its schemas are the registration's.
func TestCompiledSpecReuse(t *testing.T) {
	t.Parallel()
	spec := internalSpec("w/mail")
	spec.InputSchema = json.RawMessage(`{"type":"object","properties":{"to":{"type":"string","format":"email"}},"required":["to"]}`)
	cs, err := registry.CompileSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	set := registry.NewImportedSet()
	if err := set.Register(&registry.HandlerRegistration{Spec: spec, Handler: echo, Provenance: registry.FromCall, Compiled: cs}); err != nil {
		t.Fatal(err)
	}
	if n := registry.ImportedCompileCount(set); n != 0 {
		t.Errorf("compiled %d schemas although Compiled matched", n)
	}
	reg, _ := set.Lookup("w/mail")
	fresh, _ := registry.CompileSpec(spec)
	for _, in := range []string{`{"to":"a@b.c"}`, `{}`, `{"to":1}`, `{"to":"not-an-email"}`} {
		if a, b := codeOf(mustCompiled(t, reg).ValidateInput(json.RawMessage(in))), codeOf(fresh.ValidateInput(json.RawMessage(in))); a != b {
			t.Errorf("input %s: reused %q, fresh %q", in, a, b)
		}
	}
	// One byte of difference: Spec's schema decides and is compiled.
	other := spec
	other.InputSchema = json.RawMessage(`{"type":"object","properties":{"to":{"type":"string","format":"email"}},"required":["tO"]}`)
	set2 := registry.NewImportedSet()
	if err := set2.Register(&registry.HandlerRegistration{Spec: other, Handler: echo, Provenance: registry.FromCall, Compiled: cs}); err != nil {
		t.Fatal(err)
	}
	if n := registry.ImportedCompileCount(set2); n == 0 {
		t.Error("mismatching Compiled was used")
	}
	reg2, _ := set2.Lookup("w/mail")
	if err := mustCompiled(t, reg2).ValidateInput(json.RawMessage(`{"to":"a@b.c"}`)); codeOf(err) != callerr.InvalidInput {
		t.Errorf("Spec's schema (required tO) not applied: %v", err)
	}
	// Layer 0 with AssertFormats refuses a bad email although Compiled annotates formats only.
	ext := spec
	ext.Visibility = registry.External
	cs2, _ := registry.CompileSpec(ext)
	r := mustBuild(t, registry.NewBuilder().AssertFormats().Add(&registry.HandlerRegistration{Spec: ext, Handler: echo, Provenance: registry.Local, Compiled: cs2}))
	if _, err := call(t, r, nil, "/w/mail", `{"to":"not-an-email"}`); codeOf(err) != callerr.InvalidInput {
		t.Errorf("format not asserted in an AssertFormats Layer 0: %v", err)
	}
	if registry.CompileCount(r) == 0 {
		t.Error("AssertFormats Layer 0 reused a non-asserting compile")
	}
	if _, err := call(t, r, nil, "/w/mail", `{"to":"a@b.c"}`); err != nil {
		t.Errorf("valid email refused: %v", err)
	}
}

// mustCompiled returns a registration's compiled spec through the public surface: a
// registration stored by a layer validates like CompileSpec of its spec.
func mustCompiled(t *testing.T, reg *registry.HandlerRegistration) *registry.CompiledSpec {
	t.Helper()
	cs := registry.CompiledOf(reg)
	if cs == nil {
		t.Fatal("registration has no compiled spec")
	}
	return cs
}

// REG-R7: an imported spec with an empty any-of gate is kept and denies every caller.
func TestImportedEmptyAnyOfDenies(t *testing.T) {
	t.Parallel()
	spec := internalSpec("w/never")
	spec.AccessControl.RequiredScopesAny = []string{}
	set := registry.NewImportedSet()
	if err := set.Register(&registry.HandlerRegistration{Spec: spec, Handler: echo, Provenance: registry.FromCall}); err != nil {
		t.Fatalf("imported spec with an empty any-of refused: %v", err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("w", set); err != nil {
		t.Fatal(err)
	}
	scope := registry.NewScopedEnv("w/never")
	r := mustBuild(t, registry.NewBuilder().Local(ext("c/c"), invoker, &registry.CompositionAuthority{Label: "c", Scopes: []string{"a", "b"}}, &scope, noCaps))
	_, err := r.ServeCall(t.Context(), registry.WireCall{Operation: "c/c", Routes: registry.Routes{Peers: ps.View()}}, json.RawMessage(opReq("w/never")))
	if codeOf(err) != callerr.Forbidden {
		t.Errorf("empty any-of = %v, want FORBIDDEN", err)
	}
}

// A Builder builds once, so installer state bound by OnBuild belongs to one registry.
func TestBuildOnce(t *testing.T) {
	t.Parallel()
	b := registry.NewBuilder().Local(ext("a/b"), echo, nil, nil, noCaps)
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Build(); err == nil || r != nil {
		t.Errorf("second Build = %v, %v", r, err)
	}
}

// NonBlocking is accepted only on Local Query and Mutation registrations without a composition
// authority, and Registry.NonBlocking reports it only for External operations of Layer 0.
func TestNonBlockingRegistrations(t *testing.T) {
	t.Parallel()
	authority := &registry.CompositionAuthority{Label: "x", Scopes: []string{"a"}}
	scope := registry.NewScopedEnv("a/b")
	sub := ext("bad/nb-sub")
	sub.Type = registry.Subscription
	for _, reg := range []*registry.HandlerRegistration{
		{Spec: sub, Stream: streamer, Provenance: registry.Local, NonBlocking: true},
		{Spec: ext("bad/nb-leaf"), Handler: echo, Provenance: registry.FromCall, NonBlocking: true},
		{Spec: ext("bad/nb-composer"), Handler: echo, Provenance: registry.Local, Authority: authority, Scope: &scope, NonBlocking: true},
	} {
		r, err := registry.NewBuilder().Add(reg).Build()
		re, ok := errors.AsType[*registry.RegistrationError](err)
		if r != nil || !ok || re.ErrorCode() != registry.CodeInvalidRegistration || !strings.Contains(err.Error(), "NonBlocking") {
			t.Errorf("%s: Build = %v, %v; want %s naming NonBlocking", reg.Spec.Name, r, err, registry.CodeInvalidRegistration)
		}
	}
	r, err := registry.NewBuilder().
		Add(&registry.HandlerRegistration{Spec: ext("ok/nb"), Handler: echo, Provenance: registry.Local, NonBlocking: true}).
		Add(&registry.HandlerRegistration{Spec: internalSpec("ok/nb-internal"), Handler: echo, Provenance: registry.Local, NonBlocking: true}).
		Local(ext("ok/plain"), echo, nil, nil, noCaps).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"ok/nb": true, "/ok/nb": true, "ok/nb-internal": false, "ok/plain": false, "no/such": false} {
		if got := r.NonBlocking(name); got != want {
			t.Errorf("NonBlocking(%q) = %v, want %v", name, got, want)
		}
	}
}
