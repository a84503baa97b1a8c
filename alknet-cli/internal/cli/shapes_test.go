package cli_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// keysOf returns the sorted top-level keys of a JSON object, or of an array's first element.
func keysOf(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %q", doc)
	}
	if dec.More() {
		t.Fatalf("more than one document: %q", doc)
	}
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return nil
		}
		v = a[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %q", doc)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// CLI-T3, CLI-R77: each command's --json document has exactly the documented fields, and every
// failure is the CLI-R55 error object.
func TestJSONShapes(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	prep := func(stdin string, args ...string) {
		if r := runCLI(t, stdin, append(flags, args...)...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	prep("", "peers", "add", "p1", "--fingerprint", fpIndex1)
	prep("", "peers", "add", "p2", "--disabled", "--fingerprint", fpIndex0)
	prep("", "apikeys", "create", "--scope", "a")
	prep("v", "creds", "set", "c1", "--stdin", "--passphrase-file", pw)
	prep("v", "creds", "set", "c2", "--stdin", "--passphrase-file", pw)
	peer := "created_at display_name enabled fingerprints has_token peer_id resources revision scopes updated_at"
	key := "created_at description expires_at prefix revoked_at scopes status"
	cases := []struct {
		args []string
		keys string
	}{
		{[]string{"identity", "show"}, "fingerprint index path source verified"},
		{[]string{"vault", "status"}, "keystore store"},
		{[]string{"vault", "verify", "--passphrase-file", pw}, "credentials_checked failed fingerprint ok"},
		{[]string{"creds", "list"}, "created_at key_version provider updated_at"},
		{[]string{"creds", "rm", "c2", "--yes"}, "provider removed"},
		{[]string{"peers", "list"}, peer},
		{[]string{"peers", "show", "p1"}, peer},
		{[]string{"peers", "update", "p1", "--add-scope", "s"}, peer + " live"},
		{[]string{"peers", "rotate", "p1", "--fingerprint", fpIndex1}, peer + " live"},
		{[]string{"peers", "enable", "p2"}, peer + " live"},
		{[]string{"peers", "disable", "p2"}, peer + " live"},
		{[]string{"peers", "remove", "p2", "--yes"}, "peer_id removed"},
		{[]string{"apikeys", "create", "--scope", "b"}, "description expires_at prefix scopes token"},
		{[]string{"apikeys", "list"}, key},
		{[]string{"config", "validate"}, "errors ok warnings"},
		{[]string{"config", "paths"}, "config data_dir keystore lock reload_status store"},
		{[]string{"store", "info"}, "counts current_key_version path schema_version size_bytes store_id wal_size_bytes"},
		{[]string{"store", "check"}, "mode ok problems"},
		{[]string{"store", "backup", filepath.Join(dir, "b.db")}, "path size_bytes"},
		{[]string{"version"}, "commit go_version modules version"},
		{[]string{"vault", "rotate", "--yes", "--passphrase-file", pw}, "failed rotated to"},
		{[]string{"vault", "passwd", "--passphrase-file", pw, "--new-passphrase-file", pw, "--kdf-time", "1", "--kdf-memory", "8", "--kdf-threads", "1"}, "kdf protection"},
	}
	for _, tc := range cases {
		r := runCLI(t, "", append(append(flags, tc.args...), "--json")...)
		if r.code != 0 {
			t.Errorf("%v: %+v", tc.args, r)
			continue
		}
		want := strings.Fields(tc.keys)
		sort.Strings(want)
		if got := keysOf(t, r.out); !slices.Equal(got, want) {
			t.Errorf("%v --json keys = %v, want %v", tc.args, got, want)
		}
	}
	// apikeys revoke: an element of apikeys list plus live.
	r := runCLI(t, "", append(flags, "apikeys", "list", "--json")...)
	var keys []struct {
		Prefix string `json:"prefix"`
	}
	_ = json.Unmarshal([]byte(r.out), &keys)
	r = runCLI(t, "", append(flags, "apikeys", "revoke", keys[0].Prefix, "--json")...)
	want := append(strings.Fields(key), "live")
	sort.Strings(want)
	if got := keysOf(t, r.out); r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("apikeys revoke keys = %v", got)
	}
	// Failures: the error object alone, for a sample of commands.
	for _, args := range [][]string{
		{"peers", "show", "nobody"}, {"creds", "rm", "nothere", "--yes"}, {"apikeys", "revoke", "alk_none"},
		{"identity", "show", "--verify", "--passphrase-file", filepath.Join(dir, "missing")},
		{"store", "backup"}, {"call", "/x", "--addr", "127.0.0.1:1"},
	} {
		r := runCLI(t, "", append(append(flags, args...), "--json")...)
		if got := keysOf(t, r.out); r.code == 0 || !slices.Equal(got, []string{"error"}) {
			t.Errorf("%v failure output = %q (exit %d)", args, r.out, r.code)
		}
	}
}
