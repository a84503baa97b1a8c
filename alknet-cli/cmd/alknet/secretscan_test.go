package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// CLI-T32: at --log-level trace, none of the mnemonic, the passphrase, the generated token, its
// hash or a credential plaintext appears in any output or data file, except the designated
// one-time outputs (the --mnemonic-out file, the token on apikeys create's stdout). The store
// keeps the token's hash by design and is checked for the token itself only.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	trace := []string{"--log-level", "trace"}
	pass := "pass-" + strings.Repeat("q", 20)
	pw := secretFile(t, pass)
	words := filepath.Join(t.TempDir(), "words")
	var outputs strings.Builder
	keep := func(r procResult) procResult {
		outputs.WriteString(r.out)
		outputs.WriteString(r.err)
		return r
	}
	if r := keep(n.run("", append(append([]string{"init", "--passphrase-file", pw, "--mnemonic-out", words}, minKDF...), trace...)...)); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	phrase, _ := readAll(words)
	phrase = strings.TrimSpace(phrase)
	const plaintext = "credential-plaintext-0123456789"
	if r := keep(n.run(plaintext, append([]string{"creds", "set", "svc", "--stdin", "--passphrase-file", pw}, trace...)...)); r.code != 0 {
		t.Fatalf("creds set: %+v", r)
	}
	r := n.run("", "apikeys", "create", "--scope", "node:read", "--json") // designated output: not kept
	var key struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &key); err != nil {
		t.Fatalf("apikeys create: %+v", r)
	}
	outputs.WriteString(r.err)
	sum := sha256.Sum256([]byte(key.Token))
	hash := hex.EncodeToString(sum[:])
	tok := secretFile(t, key.Token)
	p := n.serve(append([]string{"--passphrase-file", pw}, trace...)...)
	for _, args := range [][]string{
		{"call", "/node/info", "--token-file", tok},
		{"call", "/node/whoami", "--token-file", tok},
		{"call", "/node/ping", "--input", `{"a":1}`},
		{"ops", "list", "--token-file", tok},
		{"creds", "list"}, {"vault", "verify", "--passphrase-file", pw}, {"apikeys", "list"},
	} {
		if r := keep(n.run("", append(args, trace...)...)); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	p.stop(syscall.SIGINT)
	outputs.WriteString(p.stdout.String() + p.stderr.String())
	secrets := map[string]string{"mnemonic": phrase, "passphrase": pass, "token": key.Token, "token hash": hash, "credential": plaintext}
	all := outputs.String()
	for name, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the %s appears in the command output or logs", name)
		}
	}
	entries, _ := os.ReadDir(n.dataDir())
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(n.dataDir(), e.Name()))
		if err != nil {
			continue
		}
		for name, s := range secrets {
			if name == "token hash" && strings.HasPrefix(e.Name(), "alknet.db") {
				continue
			}
			if strings.Contains(string(b), s) {
				t.Errorf("the %s appears in %s", name, e.Name())
			}
		}
	}
}
