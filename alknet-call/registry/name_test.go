package registry_test

import (
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/registry"
)

// Test 1 [REG-R1, REG-R10].
func TestValidName(t *testing.T) {
	t.Parallel()
	name256 := "a/" + strings.Repeat("b", 63) + "/" + strings.Repeat("c", 63) + "/" + strings.Repeat("d", 63) + "/" + strings.Repeat("e", 62)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"fs/readFile", true},
		{"services/list-peers", true},
		{"docker/container/exec", true},
		{"a_b/c.d-e", true},
		{"_x/y", true},
		{"", false},
		{"fs", false},
		{"/fs/read", false},
		{"fs/", false},
		{"fs//read", false},
		{"fs/../x", false},
		{"fs/./x", false},
		{"fs/.x", false},
		{"fs/-x", false},
		{"fs/read file", false},
		{"fs/ré", false},
		{"fs/" + strings.Repeat("a", 65), false},
		{name256, len(name256) == 256},
	} {
		if got := registry.ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	name257 := "a/" + strings.Repeat("b", 63) + "/" + strings.Repeat("c", 63) + "/" + strings.Repeat("d", 63) + "/" + strings.Repeat("e", 63)
	if len(name257) != 257 || registry.ValidName(name257) {
		t.Errorf("257-byte name %d accepted", len(name257))
	}
	// A name that breaks REG-R1 is a build error (REG-R10).
	_, err := registry.NewBuilder().Local(ext("fs read/x"), echo, nil, nil, noCaps).Build()
	if err == nil {
		t.Error("Build accepted an invalid name")
	}
}

// Test 2 [REG-R2, REG-R3].
func TestPathAndNamespace(t *testing.T) {
	t.Parallel()
	s := ext("fs/read")
	if s.Path() != "/fs/read" || s.Namespace() != "fs" || registry.Path("a/b") != "/a/b" || registry.Name("a", "b") != "a/b" {
		t.Errorf("Path/Namespace/Name derivation wrong: %q %q", s.Path(), s.Namespace())
	}
	r := mustBuild(t, registry.NewBuilder().Local(ext("fs/read"), constant(`1`), nil, nil, noCaps))
	for _, tc := range []struct{ op, code string }{
		{"/fs/read", ""},
		{"fs/read", ""},
		{"//fs/read", callerr.NotFound},
		{"/fs/read/", callerr.NotFound},
	} {
		if _, err := call(t, r, nil, tc.op, ""); codeOf(err) != tc.code {
			t.Errorf("ServeCall(%q) = %v, want code %q", tc.op, err, tc.code)
		}
		if _, ok := r.OpType(tc.op); ok != (tc.code == "") {
			t.Errorf("OpType(%q) ok = %v", tc.op, ok)
		}
	}
	// The NOT_FOUND message echoes at most 256 bytes of the name (REG-R3).
	_, err := call(t, r, nil, "/"+strings.Repeat("x", 1000), "")
	if ce := callErr(t, err); len(ce.Message) > len("operation not found: ")+256 {
		t.Errorf("NOT_FOUND message is %d bytes", len(ce.Message))
	}
}
