package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var echo = registry.HandlerFunc(func(_ context.Context, _ *registry.OperationContext, in json.RawMessage) (json.RawMessage, error) {
	return in, nil
})

func ident(id string, scopes ...string) *auth.Identity {
	return &auth.Identity{ID: id, Scopes: scopes, Resources: map[string][]string{}, Origin: auth.OriginPeer}
}

func spec(name string, vis registry.Visibility, scopes ...string) registry.OperationSpec {
	return registry.OperationSpec{Name: name, Type: registry.Query, Visibility: vis, AccessControl: registry.AccessControl{RequiredScopes: scopes}}
}

func call(t *testing.T, r *registry.Registry, w registry.WireCall, input string) (json.RawMessage, error) {
	t.Helper()
	var in json.RawMessage
	if input != "" {
		in = json.RawMessage(input)
	}
	return r.ServeCall(t.Context(), w, in)
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if ce, ok := errors.AsType[*callerr.CallError](err); ok {
		return ce.Code
	}
	return "!" + err.Error()
}

type listing struct {
	Operations []map[string]any `json:"operations"`
}

func names(t *testing.T, out json.RawMessage) []string {
	t.Helper()
	var l listing
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, o := range l.Operations {
		n = append(n, o["name"].(string))
	}
	return n
}

func build(t *testing.T, b *registry.Builder, opts discovery.Options) *registry.Registry {
	t.Helper()
	r, err := discovery.Install(b, opts).Build()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Tests 41 [DISC-R2] and 60 [REG-R12, DISC-R2, DISC-R3].
func TestList(t *testing.T) {
	t.Parallel()
	set := registry.NewImportedSet()
	leafSpec := spec("peer/op", registry.Internal)
	if err := set.Register(&registry.HandlerRegistration{Spec: leafSpec, Handler: echo, Provenance: registry.FromCall}); err != nil {
		t.Fatal(err)
	}
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	if _, err := ps.Attach("w", set); err != nil {
		t.Fatal(err)
	}
	sessScope := registry.NewScopedEnv()
	ov, err := registry.NewSessionOverlay(&registry.CompositionAuthority{Label: "c"}, &registry.HandlerRegistration{
		Spec: spec("sess/op", registry.Internal), Handler: echo, Provenance: registry.Session, Authority: &registry.CompositionAuthority{Label: "s"}, Scope: &sessScope})
	if err != nil {
		t.Fatal(err)
	}
	r := build(t, registry.NewBuilder().
		Local(spec("z/open", registry.External), echo, nil, nil, secret.Capabilities{}).
		Local(spec("a/scoped", registry.External, "s"), echo, nil, nil, secret.Capabilities{}).
		Local(spec("audit/record", registry.Internal), echo, nil, nil, secret.Capabilities{}), discovery.Options{})
	routes := registry.Routes{Session: ov, Peers: ps.View(), Self: "w", SelfSrc: set}
	out, err := call(t, r, registry.WireCall{Operation: "/services/list", Routes: routes}, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, out); !slices.Equal(got, []string{"services/list", "services/schema", "z/open"}) {
		t.Errorf("anonymous listing = %v", got)
	}
	out, _ = call(t, r, registry.WireCall{Operation: "/services/list", Identity: ident("u", "s"), Routes: routes}, "")
	if got := names(t, out); !slices.Equal(got, []string{"a/scoped", "services/list", "services/schema", "z/open"}) {
		t.Errorf("scoped listing = %v", got)
	}
	// Internal from the wire: NOT_FOUND like an absent name; schema NOT_FOUND.
	if _, err := call(t, r, registry.WireCall{Operation: "/audit/record", Identity: ident("u", "s")}, ""); codeOf(err) != callerr.NotFound {
		t.Errorf("internal op from the wire = %v", err)
	}
	if _, err := call(t, r, registry.WireCall{Operation: "/services/schema", Identity: ident("u", "s")}, `{"name":"audit/record"}`); codeOf(err) != callerr.NotFound {
		t.Errorf("schema of an internal op = %v", err)
	}
}

// Test 42 [DISC-R3].
func TestSchema(t *testing.T) {
	t.Parallel()
	full := spec("fs/read", registry.External, "fs:read")
	full.InputSchema = json.RawMessage(`{"type":"object"}`)
	full.ErrorSchemas = []registry.ErrorDefinition{{Code: "FILE_NOT_FOUND", Description: "gone", Schema: json.RawMessage(`{"type":"object"}`), HTTPStatus: 404}}
	r := build(t, registry.NewBuilder().Local(full, echo, nil, nil, secret.Capabilities{}).
		Local(spec("in/ternal", registry.Internal), echo, nil, nil, secret.Capabilities{}), discovery.Options{})
	reader := ident("u", "fs:read")
	for _, name := range []string{"fs/read", "/fs/read"} {
		out, err := call(t, r, registry.WireCall{Operation: "services/schema", Identity: reader}, fmt.Sprintf(`{"name":%q}`, name))
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		want, _ := json.Marshal(full)
		if string(out) != string(want) {
			t.Errorf("schema %s =\n%s\nwant\n%s", name, out, want)
		}
	}
	var notFound []string
	for _, tc := range []struct {
		id   *auth.Identity
		name string
	}{{reader, "in/ternal"}, {reader, "no/such"}, {ident("x"), "fs/read"}, {nil, "fs/read"}, {reader, "//fs/read"}} {
		_, err := call(t, r, registry.WireCall{Operation: "services/schema", Identity: tc.id}, fmt.Sprintf(`{"name":%q}`, tc.name))
		if codeOf(err) != callerr.NotFound {
			t.Errorf("schema %s = %v, want NOT_FOUND", tc.name, err)
			continue
		}
		ce, _ := errors.AsType[*callerr.CallError](err)
		notFound = append(notFound, strings.Replace(ce.Message, strings.TrimPrefix(tc.name, "/"), "NAME", 1))
	}
	for _, m := range notFound[1:] {
		if m != notFound[0] {
			t.Errorf("NOT_FOUND answers differ: %q vs %q", m, notFound[0])
		}
	}
	for _, in := range []string{`{}`, `{"name":1}`, ``, `[]`} {
		if _, err := call(t, r, registry.WireCall{Operation: "services/schema", Identity: reader}, in); codeOf(err) != callerr.InvalidInput {
			t.Errorf("schema input %s = %v, want INVALID_INPUT", in, err)
		}
	}
}

// Test 43 [DISC-R4]: listed ⇔ the same caller passes steps 2-5 of DSP-R1.
func TestListMatchesDispatch(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	scopes := []string{"a", "b", "c", "d"}
	pick := func() []string {
		var s []string
		for _, x := range scopes {
			if rng.IntN(3) == 0 {
				s = append(s, x)
			}
		}
		return s
	}
	for round := range 30 {
		b := registry.NewBuilder()
		var all []string
		for i := range 12 {
			name := fmt.Sprintf("n%d/op%d", round, i)
			s := spec(name, registry.Visibility(rng.IntN(2)), pick()...)
			if rng.IntN(4) == 0 {
				s.AccessControl.RequiredScopesAny = []string{scopes[rng.IntN(4)], scopes[rng.IntN(4)]}
			}
			if rng.IntN(5) == 0 {
				s.AccessControl.ResourceType = "repo"
			}
			b.Local(s, echo, nil, nil, secret.Capabilities{})
			all = append(all, name)
		}
		r := build(t, b, discovery.Options{})
		for range 5 {
			var id *auth.Identity
			if rng.IntN(4) != 0 {
				id = ident("u", pick()...)
				if rng.IntN(2) == 0 {
					id.Resources["repo"] = []string{"read"}
				}
			}
			out, err := call(t, r, registry.WireCall{Operation: "services/list", Identity: id}, "")
			if err != nil {
				t.Fatal(err)
			}
			listed := names(t, out)
			for _, name := range all {
				_, err := call(t, r, registry.WireCall{Operation: "/" + name, Identity: id}, "")
				passes := err == nil
				_, schemaErr := call(t, r, registry.WireCall{Operation: "services/schema", Identity: id}, fmt.Sprintf(`{"name":%q}`, name))
				if slices.Contains(listed, name) != passes || (schemaErr == nil) != passes {
					t.Fatalf("%s for %+v: listed %v, schema %v, dispatch %v", name, id, slices.Contains(listed, name), schemaErr, err)
				}
			}
		}
	}
}

type peerListing struct {
	Peers []struct {
		PeerID     string                      `json:"peer_id"`
		Operations []registry.OperationSummary `json:"operations"`
	} `json:"peers"`
}

// Tests 44 [DISC-R5, DISC-R6] and 81 [DISC-R2, REG-R21].
func TestListPeers(t *testing.T) {
	t.Parallel()
	r := build(t, registry.NewBuilder(), discovery.Options{})
	if _, ok := r.Lookup(discovery.ListPeersName); ok {
		t.Error("services/list-peers registered without opting in")
	}
	if _, err := discovery.Install(registry.NewBuilder(), discovery.Options{ListPeers: true}).Build(); err == nil {
		t.Error("list-peers without restrictions built")
	}
	access := registry.AccessControl{RequiredScopes: []string{"ops:topology"}}
	r = build(t, registry.NewBuilder(), discovery.Options{ListPeers: true, ListPeersAccess: access})
	mkSet := func(regs ...registry.OperationSpec) *registry.ImportedSet {
		s := registry.NewImportedSet()
		for _, sp := range regs {
			reg := &registry.HandlerRegistration{Spec: sp, Provenance: registry.FromCall}
			if sp.Type == registry.Subscription {
				reg.Stream = registry.StreamHandlerFunc(func(context.Context, *registry.OperationContext, json.RawMessage, registry.Emit) error { return nil })
			} else {
				reg.Handler = echo
			}
			if err := s.Register(reg); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	logs := spec("container/logs", registry.Internal, "container:logs")
	logs.Type = registry.Subscription
	list := spec("container/list", registry.Internal, "container:list")
	list.Description = "Lists containers."
	list.Tags = []string{"container"}
	exec := spec("container/exec", registry.Internal, "container:exec")
	exec.Type = registry.Mutation
	ps := registry.NewPeerSet(registry.PeerSetOptions{})
	ps.Attach("worker-a", mkSet(list, exec, logs))
	ps.Attach("worker-empty", mkSet(exec))
	ps.Attach("worker-b", mkSet(list, logs))
	w := registry.WireCall{Operation: "services/list-peers", Identity: ident("ops", "ops:topology", "container:list", "container:logs"), Routes: registry.Routes{Peers: ps.View()}}
	out, err := call(t, r, w, "{}")
	if err != nil {
		t.Fatal(err)
	}
	var pl peerListing
	if err := json.Unmarshal(out, &pl); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pl.Peers {
		for _, o := range p.Operations {
			got = append(got, p.PeerID+":"+o.Name+":"+o.Type.String())
		}
	}
	want := []string{"worker-a:container/list:query", "worker-a:container/logs:subscription", "worker-b:container/list:query", "worker-b:container/logs:subscription"}
	if !slices.Equal(got, want) {
		t.Errorf("list-peers = %v, want %v", got, want)
	}
	if pl.Peers[0].Operations[0].Description != "Lists containers." || !strings.Contains(string(out), `"tags":["container"]`) {
		t.Errorf("imported description missing: %s", out)
	}
	w.Identity = ident("alice", "jobs:run")
	if _, err := call(t, r, w, "{}"); codeOf(err) != callerr.Forbidden {
		t.Errorf("list-peers without the scope = %v", err)
	}
	// Listing peer ops does not make them callable from the wire (REG-R20).
	w = registry.WireCall{Operation: "/container/list", Identity: ident("ops", "container:list"), Routes: registry.Routes{Peers: ps.View()}}
	if _, err := call(t, r, w, ""); codeOf(err) != callerr.NotFound {
		t.Errorf("peer op from the wire = %v", err)
	}
}

// Test 81 [DISC-R2, REG-R21]: summary, description and tags appear exactly when set.
func TestListMetadata(t *testing.T) {
	t.Parallel()
	withMeta := spec("a/meta", registry.External)
	withMeta.Summary, withMeta.Description, withMeta.Tags = "S", "D <b>&amp;</b>", []string{"t"}
	hidden := spec("b/hidden", registry.External, "x")
	hidden.Summary = "secret op"
	r := build(t, registry.NewBuilder().Local(withMeta, echo, nil, nil, secret.Capabilities{}).
		Local(spec("c/plain", registry.External), echo, nil, nil, secret.Capabilities{}).
		Local(hidden, echo, nil, nil, secret.Capabilities{}), discovery.Options{})
	out, err := call(t, r, registry.WireCall{Operation: "services/list"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var l listing
	json.Unmarshal(out, &l)
	for _, o := range l.Operations {
		_, hasS := o["summary"]
		_, hasD := o["description"]
		_, hasT := o["tags"]
		switch o["name"] {
		case "a/meta":
			if !hasS || !hasD || !hasT || o["op_type"] != "query" || o["namespace"] != "a" {
				t.Errorf("a/meta item %v", o)
			}
		case "c/plain":
			if hasS || hasD || hasT {
				t.Errorf("c/plain item %v", o)
			}
		case "b/hidden":
			t.Error("forbidden op listed")
		}
	}
	if !strings.Contains(string(out), `"description":"D <b>&amp;</b>"`) {
		t.Errorf("description not written verbatim (no HTML escaping): %s", out)
	}
	if strings.Contains(string(out), "secret op") {
		t.Error("a forbidden op's summary leaked")
	}
}
