package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/bip39"
)

const (
	testMnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	// VAULT-T8 pins these for the test mnemonic at m/74'/0'/0'/0' and /1' (CLI-T7, CLI-T12).
	fpIndex0 = "ed25519:e78c2766a792f09bfccb51493968ac322283e8d021a30063784d806929762ecc"
	fpIndex1 = "ed25519:733961f7573657324f22e91f06ea4f0b359e2efa0ccffc954616dadee7444daa"
)

var minKDF = []string{"--kdf-time", "1", "--kdf-memory", "8", "--kdf-threads", "1"}

// secretFile writes content to a new 0600 file.
func secretFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type initJSON struct {
	ConfigPath    string `json:"config_path"`
	DataDir       string `json:"data_dir"`
	StorePath     string `json:"store_path"`
	KeystorePath  string `json:"keystore_path"`
	Fingerprint   string `json:"fingerprint"`
	IdentityIndex uint32 `json:"identity_index"`
	Protection    string `json:"protection"`
	MnemonicFile  string `json:"mnemonic_file"`
}

type identityJSON struct {
	Fingerprint string  `json:"fingerprint"`
	Index       *uint32 `json:"index"`
	Path        *string `json:"path"`
	Source      string  `json:"source"`
	Verified    bool    `json:"verified"`
}

// initNode initialises a node in dir from the test mnemonic with the passphrase "pw".
func initNode(t *testing.T, dir string, flags []string) string {
	t.Helper()
	pw := secretFile(t, dir, "pw", "pw\n")
	mn := secretFile(t, dir, "mnemonic", testMnemonic+"\n")
	args := append(append(append([]string{}, flags...), "init", "--recover", "--mnemonic-file", mn, "--passphrase-file", pw, "--json"), minKDF...)
	r := runCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	return pw
}

// CLI-T5: non-interactive init writes the words only to --mnemonic-out; modes 0700/0600;
// identity show agrees without a passphrase; a second init is exit 5.
func TestInitNonInteractive(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := secretFile(t, dir, "pw", "correct horse\n")
	out := filepath.Join(dir, "words.txt")
	args := append(append(append([]string{}, flags...), "init", "--passphrase-file", pw, "--json"), minKDF...)

	// Without a terminal and without --mnemonic-out: exit 2, nothing created.
	r := runCLI(t, "", args...)
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != 2 || je.Error.Code != "USAGE" {
		t.Fatalf("init without --mnemonic-out: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("data dir created by a failed init: %v", err)
	}

	r = runCLI(t, "", append(args, "--mnemonic-out", out)...)
	var res initJSON
	decodeStrict(t, r.out, &res)
	if r.code != 0 || res.Protection != "argon2id+aes-256-gcm" || res.IdentityIndex != 0 || !strings.HasPrefix(res.Fingerprint, "ed25519:") || res.MnemonicFile != out {
		t.Fatalf("init: %+v %+v", r, res)
	}
	words, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	phrase := strings.TrimSpace(string(words))
	if n := len(strings.Fields(phrase)); n != 24 {
		t.Fatalf("mnemonic file holds %d words", n)
	}
	if _, err := bip39.Parse([]byte(phrase)); err != nil {
		t.Fatalf("mnemonic file is not a valid mnemonic: %v", err)
	}
	for _, w := range strings.Fields(phrase)[:3] {
		if strings.Contains(r.out+r.err, " "+w+" ") {
			t.Fatalf("output contains mnemonic words")
		}
	}
	if strings.Contains(r.out+r.err, phrase) {
		t.Fatal("the phrase appears in the output")
	}
	modes := map[string]os.FileMode{
		filepath.Join(dir, "data"): 0o700, res.KeystorePath: 0o600, out: 0o600, res.ConfigPath: 0o600,
	}
	for p, want := range modes {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if _, err := os.Stat(res.StorePath); err != nil {
		t.Fatalf("store not created: %v", err)
	}
	// The written config validates (CLI-T22).
	if r := runCLI(t, "", append(flags, "config", "validate")...); r.code != 0 {
		t.Fatalf("config written by init: %+v", r)
	}

	r = runCLI(t, "", append(flags, "identity", "show", "--json")...)
	var id identityJSON
	decodeStrict(t, r.out, &id)
	if r.code != 0 || id.Fingerprint != res.Fingerprint || id.Source != "keystore" || id.Verified || *id.Path != "m/74'/0'/0'/0'" {
		t.Fatalf("identity show: %+v %+v", r, id)
	}
	r = runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", pw, "--json")...)
	decodeStrict(t, r.out, &id)
	if r.code != 0 || !id.Verified {
		t.Fatalf("identity show --verify: %+v", r)
	}

	r = runCLI(t, "", append(args, "--mnemonic-out", filepath.Join(dir, "w2"))...)
	decodeStrict(t, r.out, &je)
	if r.code != 5 || je.Error.Code != "ALREADY_EXISTS" {
		t.Fatalf("second init: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "w2")); !os.IsNotExist(err) {
		t.Fatal("second init wrote a mnemonic file")
	}
}

// CLI-T7: recovering the BIP39 test mnemonic gives the fingerprint VAULT-T8 pins; an invalid
// checksum is exit 2 and the words appear in no output.
func TestInitRecover(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	bad := secretFile(t, dir, "bad", strings.Replace(testMnemonic, "about", "abandon", 1)+"\n")
	pw := secretFile(t, dir, "pw", "pw")
	r := runCLI(t, "", append(append(append([]string{}, flags...), "init", "--recover", "--mnemonic-file", bad, "--passphrase-file", pw, "--json"), minKDF...)...)
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != 2 || je.Error.Code != "INVALID_INPUT" || strings.Contains(r.out+r.err, "abandon") {
		t.Fatalf("invalid checksum: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "keystore.json")); !os.IsNotExist(err) {
		t.Fatal("keystore written for an invalid mnemonic")
	}
	initNode(t, dir, flags)
	r = runCLI(t, "", append(flags, "identity", "show", "--json")...)
	var id identityJSON
	decodeStrict(t, r.out, &id)
	if id.Fingerprint != fpIndex0 {
		t.Fatalf("fingerprint = %s, want %s", id.Fingerprint, fpIndex0)
	}
	// The mnemonic from stdin gives the same identity (unprotected keystore this time).
	dir2, flags2 := isolated(t)
	_ = dir2
	r = runCLI(t, testMnemonic+"\n", append(flags2, "init", "--recover", "--mnemonic-stdin", "--no-passphrase", "--json")...)
	var res initJSON
	decodeStrict(t, r.out, &res)
	if r.code != 0 || res.Fingerprint != fpIndex0 || res.Protection != "none" {
		t.Fatalf("init --mnemonic-stdin --no-passphrase: %+v", r)
	}
}

// CLI-T8: wrong passphrase is 6; an edited header fingerprint is 6 or 8 when protected and 8
// KEYSTORE_MISMATCH when unprotected; never success.
func TestIdentityVerify(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	initNode(t, dir, flags)
	wrong := secretFile(t, dir, "wrong", "nope")
	r := runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", wrong, "--json")...)
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != 6 || je.Error.Code != "WRONG_PASSPHRASE" {
		t.Fatalf("wrong passphrase: %+v", r)
	}
	ks := filepath.Join(dir, "data", "keystore.json")
	editFingerprint(t, ks)
	r = runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", filepath.Join(dir, "pw"), "--json")...)
	decodeStrict(t, r.out, &je)
	if (r.code != 6 || je.Error.Code != "WRONG_PASSPHRASE") && (r.code != 8 || je.Error.Code != "KEYSTORE_CORRUPT") {
		t.Fatalf("edited protected header: %+v", r)
	}

	dir2, flags2 := isolated(t)
	r = runCLI(t, testMnemonic, append(flags2, "init", "--recover", "--mnemonic-stdin", "--no-passphrase")...)
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	editFingerprint(t, filepath.Join(dir2, "data", "keystore.json"))
	r = runCLI(t, "", append(flags2, "identity", "show", "--verify", "--json")...)
	decodeStrict(t, r.out, &je)
	if r.code != 8 || je.Error.Code != "KEYSTORE_MISMATCH" {
		t.Fatalf("edited unprotected header: %+v", r)
	}
}

// editFingerprint flips one hex digit of the header fingerprint.
func editFingerprint(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fp := m["identity"].(map[string]any)["fingerprint"].(string)
	last := fp[len(fp)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	nb := strings.Replace(string(b), fp, fp[:len(fp)-1]+string(repl), 1)
	if err := os.WriteFile(path, []byte(nb), 0o600); err != nil {
		t.Fatal(err)
	}
}

// CLI-T12: identity rotate derives index 1 (VAULT-T8's value); it needs --yes without a
// terminal.
func TestIdentityRotate(t *testing.T) {
	t.Parallel()
	dir, flags := isolated(t)
	pw := initNode(t, dir, flags)
	r := runCLI(t, "", append(flags, "identity", "rotate", "--passphrase-file", pw, "--json")...)
	var je jsonError
	decodeStrict(t, r.out, &je)
	if r.code != 2 || je.Error.Code != "CONFIRMATION_REQUIRED" {
		t.Fatalf("rotate without --yes: %+v", r)
	}
	r = runCLI(t, "", append(flags, "identity", "rotate", "--passphrase-file", pw, "--yes", "--json")...)
	var rot struct {
		OldFingerprint  string `json:"old_fingerprint"`
		NewFingerprint  string `json:"new_fingerprint"`
		Index           uint32 `json:"index"`
		RestartRequired bool   `json:"restart_required"`
	}
	decodeStrict(t, r.out, &rot)
	if r.code != 0 || rot.OldFingerprint != fpIndex0 || rot.NewFingerprint != fpIndex1 || rot.Index != 1 || !rot.RestartRequired {
		t.Fatalf("rotate: %+v %+v", r, rot)
	}
	r = runCLI(t, "", append(flags, "identity", "show", "--verify", "--passphrase-file", pw, "--json")...)
	var id identityJSON
	decodeStrict(t, r.out, &id)
	if r.code != 0 || id.Fingerprint != fpIndex1 || *id.Index != 1 || !id.Verified {
		t.Fatalf("after rotate: %+v", r)
	}
}
