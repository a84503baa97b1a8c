package main_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// keysOf decodes one JSON object and returns its keys, sorted.
func keysOf(t *testing.T, what string, raw json.RawMessage) ([]string, map[string]json.RawMessage) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, m
}

// wantKeys fails unless raw is one object with exactly the documented keys.
func wantKeys(t *testing.T, what string, raw json.RawMessage, want ...string) map[string]json.RawMessage {
	t.Helper()
	got, m := keysOf(t, what, raw)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s --json keys = %v; the README documents %v", what, got, want)
	}
	return m
}

// wantArray decodes a JSON array and checks each element's keys.
func wantArray(t *testing.T, what string, raw string, n int, want ...string) {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		t.Fatalf("%s: not a JSON array: %v\n%s", what, err, raw)
	}
	if len(items) != n {
		t.Fatalf("%s: %d elements, want %d: %s", what, len(items), n, raw)
	}
	for _, it := range items {
		wantKeys(t, what+" element", it, want...)
	}
}

// CLI-R54, CLI-R77 and the "--json output parses and matches a documented shape": each
// management command's --json output, from the real binary, is one document with exactly the
// keys the README's table lists (nested objects included).
func TestJSONShapes(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	pw := secretFile(t, "shape passphrase\n")
	words := filepath.Join(t.TempDir(), "words")
	run := func(stdin string, args ...string) json.RawMessage {
		t.Helper()
		r := n.run(stdin, append(args, "--json")...)
		if r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		dec := json.NewDecoder(strings.NewReader(r.out))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil || dec.More() {
			t.Fatalf("%v: not exactly one JSON document: %q", args, r.out)
		}
		return raw
	}
	wantKeys(t, "init", run("", append([]string{"init", "--passphrase-file", pw, "--mnemonic-out", words}, minKDF...)...),
		"config_path", "data_dir", "store_path", "keystore_path", "fingerprint", "identity_index", "protection", "mnemonic_file")
	wantKeys(t, "identity show", run("", "identity", "show"), "fingerprint", "index", "path", "source", "verified")
	vs := wantKeys(t, "vault status", run("", "vault", "status"), "keystore", "store")
	ks := wantKeys(t, "vault status keystore", vs["keystore"], "present", "path", "protection", "kdf", "created_at", "identity")
	wantKeys(t, "vault status keystore.kdf", ks["kdf"], "time", "memory_kib", "threads")
	wantKeys(t, "vault status keystore.identity", ks["identity"], "index", "path", "fingerprint")
	wantKeys(t, "vault status store", vs["store"], "current_key_version", "credentials_by_version")

	wantKeys(t, "creds set", run("credential value", "creds", "set", "github", "--stdin", "--passphrase-file", pw), "provider", "key_version", "restart_required")
	rl := n.run("", "creds", "list", "--json")
	wantArray(t, "creds list", rl.out, 1, "provider", "key_version", "created_at", "updated_at")

	peer := []string{"peer_id", "display_name", "enabled", "fingerprints", "has_token", "scopes", "resources", "revision", "created_at", "updated_at"}
	wantKeys(t, "peers add", run("", "peers", "add", "w1", "--fingerprint", "ed25519:"+strings.Repeat("ab", 32), "--scope", "node:read"), append(peer, "live")...)
	wantKeys(t, "peers disable", run("", "peers", "disable", "w1"), append(peer, "live")...)
	wantKeys(t, "peers show", run("", "peers", "show", "w1"), peer...)
	wantArray(t, "peers list", n.run("", "peers", "list", "--json").out, 1, peer...)

	created := wantKeys(t, "apikeys create", run("", "apikeys", "create", "--scope", "node:read"), "prefix", "token", "scopes", "description", "expires_at")
	var prefix string
	_ = json.Unmarshal(created["prefix"], &prefix)
	key := []string{"prefix", "status", "scopes", "description", "created_at", "expires_at", "revoked_at"}
	wantArray(t, "apikeys list", n.run("", "apikeys", "list", "--json").out, 1, key...)
	wantKeys(t, "apikeys revoke", run("", "apikeys", "revoke", prefix), append(key, "live")...)

	si := wantKeys(t, "store info", run("", "store", "info"), "path", "size_bytes", "wal_size_bytes", "schema_version", "store_id", "counts", "current_key_version")
	wantKeys(t, "store info counts", si["counts"], "peers", "api_keys", "credentials")
	wantKeys(t, "store check", run("", "store", "check"), "ok", "mode", "problems")
	wantKeys(t, "store backup", run("", "store", "backup", filepath.Join(t.TempDir(), "backup.db")), "path", "size_bytes")
	wantKeys(t, "config validate", run("", "config", "validate"), "ok", "errors", "warnings")
	wantKeys(t, "version", run("", "version"), "version", "commit", "go_version", "modules")

	wantKeys(t, "peers remove", run("", "peers", "remove", "w1", "--yes"), "peer_id", "removed")
	wantKeys(t, "creds rm", run("", "creds", "rm", "github", "--yes"), "provider", "removed")
}
