package registry_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
)

// Test 8 [ACL-R1..R5].
func TestCheckTable(t *testing.T) {
	t.Parallel()
	alice := &auth.Identity{ID: "alice", Scopes: []string{"fs:read", "chat"}, Resources: map[string][]string{"repo": {"read"}, "vm": {}}}
	for _, tc := range []struct {
		name string
		ac   registry.AccessControl
		id   *auth.Identity
		want string // "" = allowed
	}{
		{"none/nil", registry.AccessControl{}, nil, ""},
		{"none/alice", registry.AccessControl{}, alice, ""},
		{"scopes/nil", registry.AccessControl{RequiredScopes: []string{"fs:read"}}, nil, "authentication required"},
		{"any/nil", registry.AccessControl{RequiredScopesAny: []string{"a"}}, nil, "authentication required"},
		{"type/nil", registry.AccessControl{ResourceType: "repo"}, nil, "authentication required"},
		{"action/nil", registry.AccessControl{ResourceAction: "read"}, nil, "authentication required"},
		{"and ok", registry.AccessControl{RequiredScopes: []string{"fs:read", "chat"}}, alice, ""},
		{"and missing", registry.AccessControl{RequiredScopes: []string{"fs:read", "admin"}}, alice, "missing required scope: admin"},
		{"and no prefix match", registry.AccessControl{RequiredScopes: []string{"fs"}}, alice, "missing required scope: fs"},
		{"or ok", registry.AccessControl{RequiredScopesAny: []string{"admin", "chat"}}, alice, ""},
		{"or missing", registry.AccessControl{RequiredScopesAny: []string{"a", "b"}}, alice, "missing required scope (any of: a, b)"},
		{"or empty", registry.AccessControl{RequiredScopesAny: []string{}}, alice, "missing required scope (any of: )"},
		{"type+action ok", registry.AccessControl{ResourceType: "repo", ResourceAction: "read"}, alice, ""},
		{"type+action missing", registry.AccessControl{ResourceType: "repo", ResourceAction: "write"}, alice, "missing resource: repo/write"},
		{"type ok", registry.AccessControl{ResourceType: "repo"}, alice, ""},
		{"type empty list", registry.AccessControl{ResourceType: "vm"}, alice, "missing resource: vm"},
		{"type absent", registry.AccessControl{ResourceType: "db"}, alice, "missing resource: db"},
		{"action ok", registry.AccessControl{ResourceAction: "read"}, alice, ""},
		{"action missing", registry.AccessControl{ResourceAction: "delete"}, alice, "missing resource action: delete"},
		{"combined: scope first", registry.AccessControl{RequiredScopes: []string{"x"}, RequiredScopesAny: []string{"y"}, ResourceType: "z"}, alice, "missing required scope: x"},
		{"combined: any second", registry.AccessControl{RequiredScopes: []string{"chat"}, RequiredScopesAny: []string{"y"}, ResourceType: "z"}, alice, "missing required scope (any of: y)"},
		{"combined: resource third", registry.AccessControl{RequiredScopes: []string{"chat"}, RequiredScopesAny: []string{"fs:read"}, ResourceType: "z"}, alice, "missing resource: z"},
		{"combined ok", registry.AccessControl{RequiredScopes: []string{"chat"}, RequiredScopesAny: []string{"fs:read"}, ResourceType: "repo", ResourceAction: "read"}, alice, ""},
	} {
		err := tc.ac.Check(tc.id)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Check = %v, want allowed", tc.name, err)
		case tc.want != "":
			d, ok := errors.AsType[*registry.Denied](err)
			if !ok || d.Reason != tc.want || err.Error() != tc.want {
				t.Errorf("%s: Check = %v, want %q", tc.name, err, tc.want)
			}
		}
	}
	if (registry.AccessControl{}).HasRestrictions() || !(registry.AccessControl{RequiredScopesAny: []string{}}).HasRestrictions() {
		t.Error("HasRestrictions wrong (ACL-R1)")
	}
}

// Test 9 [ACL-R4]: fuzz Check.
func FuzzCheck(f *testing.F) {
	f.Add("a,b", "c", "repo", "read", "a,b,c", "repo:read", true)
	f.Add("", "", "", "", "", "", false)
	f.Add("x", "", "", "write", "x", "vm:write", true)
	f.Fuzz(func(t *testing.T, req, anyOf, rtype, raction, scopes, res string, hasAny bool) {
		ac := registry.AccessControl{RequiredScopes: split(req), ResourceType: rtype, ResourceAction: raction}
		if hasAny {
			ac.RequiredScopesAny = split(anyOf)
			if ac.RequiredScopesAny == nil {
				ac.RequiredScopesAny = []string{}
			}
		}
		id := &auth.Identity{ID: "f", Scopes: split(scopes), Resources: map[string][]string{}}
		for _, kv := range split(res) {
			k, v, _ := strings.Cut(kv, ":")
			id.Resources[k] = append(id.Resources[k], v)
		}
		if ac.Check(id) != nil {
			return
		}
		for _, s := range ac.RequiredScopes {
			if !slices.Contains(id.Scopes, s) {
				t.Fatalf("allowed without required scope %q", s)
			}
		}
		if ac.RequiredScopesAny != nil && !slices.ContainsFunc(ac.RequiredScopesAny, func(s string) bool { return slices.Contains(id.Scopes, s) }) {
			t.Fatalf("allowed without any of %v", ac.RequiredScopesAny)
		}
		if ac.ResourceType != "" && ac.ResourceAction != "" && !slices.Contains(id.Resources[ac.ResourceType], ac.ResourceAction) {
			t.Fatal("allowed without the resource action")
		}
		if ac.HasRestrictions() && ac.Check(nil) == nil {
			t.Fatal("restricted op allowed for nil identity")
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
