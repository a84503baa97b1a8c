package auth_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
)

// CORE-T907: Identity JSON.
func TestIdentityJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(auth.Identity{ID: "a", Origin: auth.OriginPeer})
	if err != nil || string(b) != `{"id":"a","scopes":[],"resources":{}}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	b, _ = json.Marshal(auth.Identity{ID: "a", Scopes: []string{"x"}, Resources: map[string][]string{"svc": nil}})
	if string(b) != `{"id":"a","scopes":["x"],"resources":{"svc":[]}}` {
		t.Fatalf("Marshal = %s", b)
	}
	good := []struct {
		in   string
		want auth.Identity
	}{
		{`{"id":"a"}`, auth.Identity{ID: "a", Scopes: []string{}, Resources: map[string][]string{}}},
		{`{"id":"a","scopes":null,"resources":null}`, auth.Identity{ID: "a", Scopes: []string{}, Resources: map[string][]string{}}},
		{` {"id":"a","extra":{"x":[1,2]},"ID":"b","Scopes":5,"scopes":["s"]} `, auth.Identity{ID: "a", Scopes: []string{"s"}, Resources: map[string][]string{}}},
		{`{"resources":{"svc":["a","b"],"empty":null},"id":"p"}`, auth.Identity{ID: "p", Scopes: []string{}, Resources: map[string][]string{"svc": {"a", "b"}, "empty": {}}}},
	}
	for _, tc := range good {
		id := auth.Identity{Origin: auth.OriginPeer}
		if err := json.Unmarshal([]byte(tc.in), &id); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(id, tc.want) || id.Origin != auth.OriginClaimed {
			t.Errorf("Unmarshal(%s) = %#v, want %#v", tc.in, id, tc.want)
		}
	}
	bad := []string{
		`{"scopes":[]}`, `{}`, `{"id":""}`, `{"id":null}`, `{"id":5}`, `{"ID":"a"}`, `[]`, `"a"`, `null`,
		`{"id":"a","id":"b"}`, `{"id":"a","scopes":[],"scopes":[]}`, `{"id":"a","resources":{},"resources":{}}`,
		`{"id":"a","scopes":"x"}`, `{"id":"a","resources":[]}`, `{"id":"a","resources":{"t":"x"}}`, `{"id":"a"`,
	}
	for _, in := range bad {
		var id auth.Identity
		if err := json.Unmarshal([]byte(in), &id); err == nil {
			t.Errorf("Unmarshal(%s) = %#v, want an error", in, id)
		}
	}
	var id auth.Identity
	if err := id.UnmarshalJSON([]byte(`{"id":"a"} {}`)); err == nil {
		t.Error("UnmarshalJSON accepted trailing data")
	}
}

// FuzzIdentityJSON (CORE-T907): decoding never panics and decode∘encode is stable.
func FuzzIdentityJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"a"}`, `{"id":"a","scopes":["x","y"],"resources":{"svc":["a"]}}`, `{"scopes":[]}`,
		`{"id":"a","id":"b"}`, `{"id":"\u00e9","x":null}`, `{"id":"a","resources":{"t":null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var id auth.Identity
		if err := json.Unmarshal(b, &id); err != nil {
			return
		}
		if id.ID == "" {
			t.Fatalf("decoded an empty id from %q", b)
		}
		enc, err := json.Marshal(id)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", id, err)
		}
		var again auth.Identity
		if err := json.Unmarshal(enc, &again); err != nil || !reflect.DeepEqual(again, id) {
			t.Fatalf("round trip of %q: %s gives %#v, %v; want %#v", b, enc, again, err, id)
		}
	})
}

func TestIdentityHelpers(t *testing.T) {
	t.Parallel()
	id := auth.Identity{ID: "p", Scopes: []string{"a", auth.ScopeAdmin}, Resources: map[string][]string{"svc": {"x"}}, Origin: auth.OriginPeer}
	if !id.HasScope(auth.ScopeAdmin) || id.HasScope(auth.ScopeRelayConnect) {
		t.Fatal("HasScope wrong")
	}
	c := id.Clone()
	c.Scopes[0] = "z"
	c.Resources["svc"][0] = "y"
	if id.Scopes[0] != "a" || id.Resources["svc"][0] != "x" || c.Origin != auth.OriginPeer {
		t.Fatal("Clone shares storage or drops Origin")
	}
	same := []struct{ a, b auth.Identity }{
		{id, auth.Identity{ID: "p", Scopes: []string{auth.ScopeAdmin, "a", "a"}, Resources: map[string][]string{"svc": {"x", "x"}}}},
		{auth.Identity{ID: "q"}, auth.Identity{ID: "q", Scopes: []string{}, Resources: map[string][]string{"t": {}}}},
	}
	for _, s := range same {
		if !s.a.SameGrants(s.b) || !s.b.SameGrants(s.a) {
			t.Errorf("SameGrants(%+v, %+v) = false", s.a, s.b)
		}
	}
	differ := []auth.Identity{
		{ID: "other", Scopes: id.Scopes, Resources: id.Resources},
		{ID: "p", Scopes: []string{"a"}, Resources: id.Resources},
		{ID: "p", Scopes: id.Scopes, Resources: map[string][]string{"svc": {"x", "y"}}},
		{ID: "p", Scopes: id.Scopes, Resources: map[string][]string{"svc2": {"x"}}},
	}
	for _, d := range differ {
		if id.SameGrants(d) || d.SameGrants(id) {
			t.Errorf("SameGrants(%+v) = true", d)
		}
	}
	for o, want := range map[auth.Origin]string{auth.OriginClaimed: "claimed", auth.OriginPeer: "peer", auth.OriginAPIKey: "api_key", auth.OriginComposition: "composition", 9: "origin(9)"} {
		if o.String() != want {
			t.Errorf("Origin(%d).String() = %q, want %q", o, o.String(), want)
		}
	}
}

// CORE-R903: a clone's slices are independent of the original and of each other: appending to
// one never writes into another, nil and empty are kept apart.
func TestCloneSlicesIndependent(t *testing.T) {
	t.Parallel()
	id := auth.Identity{ID: "p", Scopes: []string{"a", "b"},
		Resources: map[string][]string{"svc": {"x"}, "repo": {"y", "z"}, "none": {}, "nil": nil}}
	c := id.Clone()
	c.Scopes = append(c.Scopes, "EXTRA")
	c.Resources["svc"] = append(c.Resources["svc"], "EXTRA")
	c.Resources["svc"][0] = "CHANGED"
	for k, v := range c.Resources {
		for _, s := range v {
			if s == "EXTRA" && k != "svc" {
				t.Fatalf("append on one clone slice wrote into %q: %v", k, c.Resources)
			}
		}
	}
	if !slices.Equal(id.Scopes, []string{"a", "b"}) || id.Resources["svc"][0] != "x" || !slices.Equal(id.Resources["repo"], []string{"y", "z"}) {
		t.Fatalf("original changed through its clone: %+v", id)
	}
	if !slices.Equal(c.Resources["repo"], []string{"y", "z"}) {
		t.Fatalf("clone's repo = %v, want [y z]", c.Resources["repo"])
	}
	if c.Resources["none"] == nil || len(c.Resources["none"]) != 0 {
		t.Errorf("empty resource list became %#v, want empty non-nil", c.Resources["none"])
	}
	if v, ok := c.Resources["nil"]; !ok || v != nil {
		t.Errorf("nil resource list became %#v (present=%v), want nil", v, ok)
	}
	if (auth.Identity{ID: "q"}).Clone().Scopes != nil {
		t.Error("nil scopes became non-nil")
	}
}
