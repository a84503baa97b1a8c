package cli_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the test holds the store's write lock itself

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/alknet/alknet/alknet-vault/vault"
)

type peerOut struct {
	PeerID       string              `json:"peer_id"`
	DisplayName  *string             `json:"display_name"`
	Enabled      bool                `json:"enabled"`
	Fingerprints []string            `json:"fingerprints"`
	HasToken     bool                `json:"has_token"`
	Scopes       []string            `json:"scopes"`
	Resources    map[string][]string `json:"resources"`
	Revision     int64               `json:"revision"`
	CreatedAt    *string             `json:"created_at"`
	UpdatedAt    *string             `json:"updated_at"`
	Live         *bool               `json:"live"`
}

func mustCode(t *testing.T, r result, exit int, code string) jsonError {
	t.Helper()
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != exit || je.Error.Code != code {
		t.Fatalf("exit %d %+v (stderr %q); want %d %s", r.code, je.Error, r.err, exit, code)
	}
	return je
}

// CLI-T27: an empty data dir has no store: exit 12 and nothing is created.
func TestNoStoreNothingCreated(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	writeConfig(t, dir, "")
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"peers", "list"}, {"apikeys", "list"}, {"creds", "list"}, {"store", "info"}} {
		mustCode(t, runCLI(t, "", append(append(flags, args...), "--json")...), 12, "NOT_INITIALIZED")
	}
	entries, _ := os.ReadDir(data)
	if len(entries) != 0 {
		t.Fatalf("files created in an empty data dir: %v", entries)
	}
}

// cli.md §7.5, CLI-R34, CLI-R35, CLI-R77: the peer commands and their JSON shape.
func TestPeers(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	cmd := func(args ...string) result { return runCLI(t, "", append(append(flags, args...), "--json")...) }

	upper := "ED25519:" + strings.ToUpper(strings.TrimPrefix(fpIndex1, "ed25519:"))
	r := cmd("peers", "add", "worker-b", "--fingerprint", upper, "--scope", "node:read", "--resource", "service=gitea,drone", "--display-name", "Worker B")
	var p peerOut
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || p.PeerID != "worker-b" || len(p.Fingerprints) != 1 || p.Fingerprints[0] != fpIndex1 || !p.Enabled ||
		*p.DisplayName != "Worker B" || p.Resources["service"][1] != "drone" || p.Live == nil || *p.Live || p.Revision < 1 || p.CreatedAt == nil {
		t.Fatalf("peers add: %+v %+v", r, p)
	}
	mustCode(t, cmd("peers", "add", "worker-b", "--fingerprint", fpIndex0), 5, "ALREADY_EXISTS")
	mustCode(t, cmd("peers", "add", "worker-c", "--fingerprint", fpIndex1), 5, "CONFLICT")
	mustCode(t, cmd("peers", "add", "worker-c"), 2, "USAGE")
	mustCode(t, cmd("peers", "add", "Bad_ID", "--fingerprint", fpIndex0), 2, "INVALID_INPUT")
	mustCode(t, cmd("peers", "add", "x", "--fingerprint", "nope"), 2, "INVALID_INPUT")
	if r := cmd("peers", "add", "pre", "--disabled"); r.code != 0 {
		t.Fatalf("peers add --disabled: %+v", r)
	}

	r = cmd("peers", "list")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 2 {
		t.Fatalf("peers list: %v %+v", err, r)
	}
	if _, ok := list[0]["live"]; ok {
		t.Fatal("peers list elements carry live")
	}
	r = cmd("peers", "list", "--disabled")
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 1 || list[0]["peer_id"] != "pre" {
		t.Fatalf("peers list --disabled: %+v", r)
	}

	r = cmd("peers", "update", "worker-b", "--add-scope", "build", "--remove-scope", "node:read", "--remove-resource", "service", "--add-fingerprint", fpIndex0)
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || len(p.Scopes) != 1 || p.Scopes[0] != "build" || len(p.Resources) != 0 || len(p.Fingerprints) != 2 {
		t.Fatalf("peers update: %+v", p)
	}
	r = cmd("peers", "rotate", "worker-b", "--fingerprint", fpIndex1)
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || len(p.Fingerprints) != 1 || p.Fingerprints[0] != fpIndex1 {
		t.Fatalf("peers rotate: %+v", p)
	}
	r = cmd("peers", "disable", "worker-b")
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || p.Enabled {
		t.Fatalf("peers disable: %+v", p)
	}
	r = cmd("peers", "enable", "worker-b")
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || !p.Enabled {
		t.Fatalf("peers enable: %+v", p)
	}
	r = cmd("peers", "show", "worker-b")
	p = peerOut{}
	decodeStrict(t, r.out, &p)
	if r.code != 0 || p.Live != nil || p.Revision < 5 {
		t.Fatalf("peers show: %+v", p)
	}
	mustCode(t, cmd("peers", "show", "nobody"), 4, "NOT_FOUND")
	mustCode(t, cmd("peers", "enable", "nobody"), 4, "NOT_FOUND")
	mustCode(t, cmd("peers", "remove", "worker-b"), 2, "CONFIRMATION_REQUIRED")
	r = cmd("peers", "remove", "worker-b", "--yes")
	var rm struct {
		PeerID  string `json:"peer_id"`
		Removed bool   `json:"removed"`
	}
	decodeStrict(t, r.out, &rm)
	if r.code != 0 || !rm.Removed || rm.PeerID != "worker-b" {
		t.Fatalf("peers remove: %+v", r)
	}
	mustCode(t, cmd("peers", "remove", "worker-b", "--yes"), 4, "NOT_FOUND")
	// Human table.
	if r := runCLI(t, "", append(flags, "peers", "list")...); r.code != 0 || !strings.Contains(r.out, "PEER ID") {
		t.Fatalf("peers list table: %+v", r)
	}
}

// cli.md §7.6, CLI-R77: API keys.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	cmd := func(args ...string) result { return runCLI(t, "", append(append(flags, args...), "--json")...) }
	r := cmd("apikeys", "create", "--scope", "node:read", "--description", "ci", "--expires", "30d")
	var k struct {
		Prefix      string   `json:"prefix"`
		Token       string   `json:"token"`
		Scopes      []string `json:"scopes"`
		Description *string  `json:"description"`
		ExpiresAt   *string  `json:"expires_at"`
	}
	decodeStrict(t, r.out, &k)
	if r.code != 0 || len(k.Token) != 44 || !strings.HasPrefix(k.Token, k.Prefix) || !strings.HasPrefix(k.Prefix, "alk_") || k.ExpiresAt == nil || *k.Description != "ci" {
		t.Fatalf("apikeys create: %+v", r)
	}
	if strings.Contains(r.err, k.Token) {
		t.Fatal("token on stderr")
	}
	mustCode(t, cmd("apikeys", "create", "--scope", "x", "--expires", "2001-01-01"), 2, "INVALID_INPUT")

	type keyOut struct {
		Prefix      string   `json:"prefix"`
		Status      string   `json:"status"`
		Scopes      []string `json:"scopes"`
		Description *string  `json:"description"`
		CreatedAt   *string  `json:"created_at"`
		ExpiresAt   *string  `json:"expires_at"`
		RevokedAt   *string  `json:"revoked_at"`
		Live        *bool    `json:"live"`
	}
	r = cmd("apikeys", "revoke", k.Prefix)
	var rk keyOut
	decodeStrict(t, r.out, &rk)
	if r.code != 0 || rk.Status != "revoked" || rk.RevokedAt == nil || rk.Live == nil {
		t.Fatalf("apikeys revoke: %+v", r)
	}
	mustCode(t, cmd("apikeys", "revoke", "alk_none"), 4, "NOT_FOUND")
	r = cmd("apikeys", "list")
	var list []keyOut
	decodeStrict(t, r.out, &list)
	if r.code != 0 || len(list) != 0 {
		t.Fatalf("apikeys list without --all: %+v", list)
	}
	r = cmd("apikeys", "list", "--all")
	decodeStrict(t, r.out, &list)
	if r.code != 0 || len(list) != 1 || list[0].Status != "revoked" || list[0].Live != nil {
		t.Fatalf("apikeys list --all: %+v", list)
	}
	// The token is nowhere in the store file.
	b, _ := os.ReadFile(filepath.Join(dir, "data", "alknet.db"))
	if bytes.Contains(b, []byte(k.Token)) {
		t.Fatal("token stored in the clear")
	}
}

// CLI-T13: credentials never appear in the clear; rm of an absent provider is 4.
func TestCreds(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	const plaintext = "sk-test-0123456789abcdef-plaintext"
	r := runCLI(t, plaintext+"\n", append(flags, "creds", "set", "openai", "--stdin", "--passphrase-file", pw, "--json")...)
	var set struct {
		Provider        string `json:"provider"`
		KeyVersion      uint32 `json:"key_version"`
		RestartRequired bool   `json:"restart_required"`
	}
	decodeStrict(t, r.out, &set)
	if r.code != 0 || set.Provider != "openai" || set.KeyVersion != 2 {
		t.Fatalf("creds set: %+v", r)
	}
	r = runCLI(t, "", append(flags, "creds", "list", "--json", "--log-level", "trace")...)
	var list []struct {
		Provider   string  `json:"provider"`
		KeyVersion uint32  `json:"key_version"`
		CreatedAt  *string `json:"created_at"`
		UpdatedAt  *string `json:"updated_at"`
	}
	decodeStrict(t, r.out, &list)
	if r.code != 0 || len(list) != 1 || list[0].Provider != "openai" || list[0].KeyVersion != 2 || strings.Contains(r.out+r.err, plaintext) {
		t.Fatalf("creds list: %+v", r)
	}
	for _, name := range []string{"alknet.db", "alknet.db-wal", "keystore.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, "data", name))
		if bytes.Contains(b, []byte(plaintext)) {
			t.Fatalf("%s contains the plaintext", name)
		}
	}
	mustCode(t, runCLI(t, "", append(flags, "creds", "rm", "nothere", "--yes", "--json")...), 4, "NOT_FOUND")
	r = runCLI(t, "", append(flags, "creds", "rm", "openai", "--yes", "--json")...)
	if r.code != 0 || !strings.Contains(r.out, `"removed":true`) {
		t.Fatalf("creds rm: %+v", r)
	}
	r = runCLI(t, "", append(flags, "creds", "list", "--json")...)
	if r.code != 0 || strings.TrimSpace(r.out) != "[]" {
		t.Fatalf("creds list after rm: %+v", r)
	}
	// Two stdin sources are a usage error (CLI-R24).
	mustCode(t, runCLI(t, "x", append(flags, "creds", "set", "a", "--stdin", "--passphrase-stdin", "--json")...), 2, "USAGE")
}

// foreignCredential stores a blob encrypted under another mnemonic, written directly through
// the store (CLI-T14, CLI-T15).
func foreignCredential(t *testing.T, storePath, provider string, version uint32) {
	t.Helper()
	v := vault.New(vault.Config{})
	if _, err := v.UnlockNew(12); err != nil {
		t.Fatal(err)
	}
	defer v.Lock()
	blob, err := v.Encrypt([]byte("foreign"), version)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(blob)
	var sb store.EncryptedData
	if err := json.Unmarshal(b, &sb); err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: storePath, DisableWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Credentials().Put(t.Context(), provider, sb); err != nil {
		t.Fatal(err)
	}
}

// CLI-T14: vault rotate, refusal to go back, and --skip-failed.
func TestVaultRotate(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	for _, p := range []string{"a", "b"} {
		if r := runCLI(t, "v-"+p, append(flags, "creds", "set", p, "--stdin", "--passphrase-file", pw)...); r.code != 0 {
			t.Fatalf("creds set: %+v", r)
		}
	}
	cmd := func(args ...string) result {
		return runCLI(t, "", append(append(flags, args...), "--passphrase-file", pw, "--yes", "--json")...)
	}
	r := cmd("vault", "rotate", "--to", "3")
	var rot struct {
		To      uint32              `json:"to"`
		Rotated []string            `json:"rotated"`
		Failed  []map[string]string `json:"failed"`
	}
	decodeStrict(t, r.out, &rot)
	if r.code != 0 || rot.To != 3 || len(rot.Rotated) != 2 || len(rot.Failed) != 0 {
		t.Fatalf("vault rotate --to 3: %+v", r)
	}
	r = cmd("vault", "verify")
	var ver struct {
		OK                 bool   `json:"ok"`
		Fingerprint        string `json:"fingerprint"`
		CredentialsChecked int    `json:"credentials_checked"`
		Failed             []any  `json:"failed"`
	}
	decodeStrict(t, r.out, &ver)
	if r.code != 0 || !ver.OK || ver.CredentialsChecked != 2 || ver.Fingerprint != fpIndex0 {
		t.Fatalf("vault verify: %+v", r)
	}
	je := mustCode(t, cmd("vault", "rotate", "--to", "2"), 2, "INVALID_INPUT")
	if je.Error.Details["cause_code"] != "STORE_INVALID" {
		t.Fatalf("details = %v", je.Error.Details)
	}

	foreignCredential(t, filepath.Join(dir, "data", "alknet.db"), "foreign", 3)
	mustCode(t, cmd("vault", "rotate", "--to", "4"), 8, "CREDENTIAL_UNDECRYPTABLE")
	r = runCLI(t, "", append(flags, "vault", "status", "--json")...)
	if !strings.Contains(r.out, `"credentials_by_version":{"3":3}`) {
		t.Fatalf("something rotated in an all-or-nothing failure: %s", r.out)
	}
	r = cmd("vault", "rotate", "--to", "4", "--skip-failed")
	decodeStrict(t, r.out, &rot)
	if r.code != 8 || len(rot.Rotated) != 2 || len(rot.Failed) != 1 || rot.Failed[0]["provider"] != "foreign" {
		t.Fatalf("--skip-failed: %+v", r)
	}
	r = cmd("vault", "verify")
	decodeStrict(t, r.out, &ver)
	if r.code != 8 || ver.OK || len(ver.Failed) != 1 {
		t.Fatalf("vault verify with a foreign credential: %+v", r)
	}
}

// CLI-T11: vault passwd; --no-passphrase needs --yes; a loose unprotected keystore is refused.
func TestVaultPasswd(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	npw := secretFile(t, dir, "new", "new passphrase")
	r := runCLI(t, "", append(append(flags, "vault", "passwd", "--passphrase-file", pw, "--new-passphrase-file", npw, "--json"), minKDF...)...)
	if r.code != 0 || !strings.Contains(r.out, `"protection":"argon2id+aes-256-gcm"`) {
		t.Fatalf("vault passwd: %+v", r)
	}
	mustCode(t, runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", pw, "--json")...), 6, "WRONG_PASSPHRASE")
	if r := runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", npw)...); r.code != 0 {
		t.Fatalf("new passphrase: %+v", r)
	}
	mustCode(t, runCLI(t, "", append(flags, "vault", "passwd", "--passphrase-file", npw, "--no-passphrase", "--json")...), 2, "CONFIRMATION_REQUIRED")
	r = runCLI(t, "", append(flags, "vault", "passwd", "--passphrase-file", npw, "--no-passphrase", "--yes", "--json")...)
	if r.code != 0 || !strings.Contains(r.out, `"kdf":null,"protection":"none"`) {
		t.Fatalf("vault passwd --no-passphrase: %+v", r)
	}
	ks := filepath.Join(dir, "data", "keystore.json")
	if err := os.Chmod(ks, 0o644); err != nil {
		t.Fatal(err)
	}
	mustCode(t, runCLI(t, "", append(flags, "identity", "show", "--json")...), 6, "INSECURE_PERMISSIONS")
	_ = keystore.FormatName
}

// cli.md §7.3, §7.11, CLI-R77: vault status and the store commands.
func TestStatusAndStore(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	r := runCLI(t, "", append(flags, "vault", "status", "--json")...)
	var vs struct {
		Keystore struct {
			Present    bool    `json:"present"`
			Path       string  `json:"path"`
			Protection *string `json:"protection"`
			KDF        *struct {
				Time      uint32 `json:"time"`
				MemoryKiB uint32 `json:"memory_kib"`
				Threads   uint8  `json:"threads"`
			} `json:"kdf"`
			CreatedAt *string `json:"created_at"`
			Identity  *struct {
				Index       uint32 `json:"index"`
				Path        string `json:"path"`
				Fingerprint string `json:"fingerprint"`
			} `json:"identity"`
		} `json:"keystore"`
		Store struct {
			CurrentKeyVersion    *uint32        `json:"current_key_version"`
			CredentialsByVersion map[string]int `json:"credentials_by_version"`
		} `json:"store"`
	}
	decodeStrict(t, r.out, &vs)
	if r.code != 0 || !vs.Keystore.Present || vs.Keystore.KDF.MemoryKiB != 8192 || vs.Keystore.Identity.Fingerprint != fpIndex0 || *vs.Store.CurrentKeyVersion != 2 {
		t.Fatalf("vault status: %+v", r)
	}
	r = runCLI(t, "", append(flags, "store", "info", "--json")...)
	var info struct {
		Path              string         `json:"path"`
		SizeBytes         int64          `json:"size_bytes"`
		WALSizeBytes      int64          `json:"wal_size_bytes"`
		SchemaVersion     int            `json:"schema_version"`
		StoreID           string         `json:"store_id"`
		Counts            map[string]int `json:"counts"`
		CurrentKeyVersion uint32         `json:"current_key_version"`
	}
	decodeStrict(t, r.out, &info)
	if r.code != 0 || info.SchemaVersion < 1 || info.StoreID == "" || info.CurrentKeyVersion != 2 {
		t.Fatalf("store info: %+v", r)
	}
	r = runCLI(t, "", append(flags, "store", "check", "--full", "--json")...)
	if r.code != 0 || !strings.Contains(r.out, `{"mode":"full","ok":true,"problems":[]}`) {
		t.Fatalf("store check: %+v", r)
	}
	dest := filepath.Join(dir, "backup.db")
	r = runCLI(t, "", append(flags, "store", "backup", dest, "--json")...)
	if r.code != 0 || !strings.Contains(r.out, `"path":"`+dest+`"`) {
		t.Fatalf("store backup: %+v", r)
	}
	// CLI-T25: a corrupt store is exit 8 for check.
	db := filepath.Join(dir, "data", "alknet.db")
	if err := os.WriteFile(db, bytes.Repeat([]byte("garbage!"), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(db + "-wal")
	_ = os.Remove(db + "-shm")
	r = runCLI(t, "", append(flags, "store", "check", "--json")...)
	if r.code != 8 || !strings.Contains(r.out, `"ok":false`) {
		t.Fatalf("store check of a corrupt store: %+v", r)
	}
	mustCode(t, runCLI(t, "", append(flags, "peers", "list", "--json")...), 8, "STORE_CORRUPT")
}

// CLI-T2: dynamic completion lists peer ids, key prefixes and providers from the store.
func TestDynamicCompletion(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	for _, id := range []string{"alpha", "beta"} {
		if r := runCLI(t, "", append(flags, "peers", "add", id, "--disabled")...); r.code != 0 {
			t.Fatalf("peers add: %+v", r)
		}
	}
	if r := runCLI(t, "v", append(flags, "creds", "set", "openai", "--stdin", "--passphrase-file", pw)...); r.code != 0 {
		t.Fatalf("creds set: %+v", r)
	}
	r := runCLI(t, "", append(flags, "__complete", "peers", "show", "")...)
	if r.code != 0 || !strings.Contains(r.out, "alpha\nbeta\n") {
		t.Fatalf("__complete peers show: %+v", r)
	}
	r = runCLI(t, "", append(flags, "__complete", "peers", "show", "b")...)
	if strings.Contains(r.out, "alpha") || !strings.Contains(r.out, "beta") {
		t.Fatalf("prefix completion: %q", r.out)
	}
	r = runCLI(t, "", append(flags, "__complete", "creds", "rm", "")...)
	if !strings.Contains(r.out, "openai") {
		t.Fatalf("__complete creds rm: %q", r.out)
	}
	// Silent without a store.
	_, other := isolated(t)
	r = runCLI(t, "", append(other, "__complete", "peers", "show", "")...)
	if r.code != 0 || strings.Contains(r.out, "alpha") {
		t.Fatalf("completion without a store: %+v", r)
	}
}

// CLI-T26: another connection holds the store's write lock: a write with --busy-timeout
// 100ms is STORE_BUSY (exit 7); after the release it succeeds.
func TestStoreBusy(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "data", "alknet.db")+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	je := mustCode(t, runCLI(t, "", append(flags, "peers", "add", "x", "--disabled", "--busy-timeout", "100ms", "--json")...), 7, "STORE_BUSY")
	if !strings.Contains(je.Error.Message, "alknet.db") {
		t.Fatalf("message does not name the store: %q", je.Error.Message)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if r := runCLI(t, "", append(flags, "peers", "add", "x", "--disabled", "--busy-timeout", "100ms")...); r.code != 0 {
		t.Fatalf("after release: %+v", r)
	}
}

// CLI-R13: config validate checks [[connect]] peers and credentials against the store.
func TestValidateAgainstStore(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	writeConfig(t, dir, "[[connect]]\npeer_id = \"head\"\naddr = \"h:1\"\nauth_credential = \"tok\"\n")
	r := runCLI(t, "", append(flags, "config", "validate", "--json")...)
	if r.code != 3 || !strings.Contains(r.out, `"path":"connect[0].peer_id","line":2`) || !strings.Contains(r.out, `"path":"connect[0].auth_credential","line":4`) {
		t.Fatalf("validate with unknown peer and credential: %+v", r)
	}
	if r := runCLI(t, "", append(flags, "peers", "add", "head", "--disabled")...); r.code != 0 {
		t.Fatal(r)
	}
	r = runCLI(t, "", append(flags, "config", "validate", "--json")...)
	if r.code != 3 || strings.Contains(r.out, "peer_id") || !strings.Contains(r.out, "auth_credential") {
		t.Fatalf("validate with the peer present: %+v", r)
	}
}

// CLI-R31: init --force keeps the old keystore as a .bak file.
func TestInitForce(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	pw := filepath.Join(dir, "pw")
	args := append(append(append([]string{}, flags...), "init", "--force", "--passphrase-file", pw, "--mnemonic-out", filepath.Join(dir, "w"), "--json"), minKDF...)
	mustCode(t, runCLI(t, "", args...), 2, "CONFIRMATION_REQUIRED")
	if r := runCLI(t, "", append(args, "--yes")...); r.code != 0 {
		t.Fatalf("init --force --yes: %+v", r)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "data", "keystore.json.bak-*"))
	if len(matches) != 1 {
		t.Fatalf("backups = %v", matches)
	}
	r := runCLI(t, "", append(flags, "identity", "show", "--json")...)
	if r.code != 0 || strings.Contains(r.out, fpIndex0) {
		t.Fatalf("identity after --force: %+v", r)
	}
}
