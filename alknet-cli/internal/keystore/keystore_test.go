package keystore_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
)

const testFP = "ed25519:e78c2766a792f09bfccb51493968ac322283e8d021a30063784d806929762ecc"

var testID = keystore.Identity{Index: 0, Path: "m/74'/0'/0'/0'", Fingerprint: testFP}

func testPlain() *keystore.Plain {
	return &keystore.Plain{
		Mnemonic:        []byte("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"),
		BIP39Passphrase: []byte("25th"),
	}
}

func codeOf(err error) output.Code {
	if e, ok := errors.AsType[*output.Error](err); ok {
		return e.Code
	}
	return ""
}

func sealed(t testing.TB) []byte {
	t.Helper()
	f, err := keystore.Seal(testPlain(), []byte("correct horse"), keystore.MinKDF, testID, time.Unix(1782907200, 0), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cli.md §6.1: seal, parse, open round trip; the header reads without the passphrase.
func TestSealOpen(t *testing.T) {
	t.Parallel()
	b := sealed(t)
	if bytes.Contains(b, []byte("abandon")) || bytes.Contains(b, []byte("25th")) {
		t.Fatal("sealed file contains the plaintext")
	}
	var shape map[string]any
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "version", "created_at", "identity", "protection", "kdf", "nonce", "ciphertext"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("field %q missing from %s", k, b)
		}
	}
	f, err := keystore.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Identity != testID || !f.Protected() || f.KDF != keystore.MinKDF || !f.CreatedAt.Equal(time.Unix(1782907200, 0)) {
		t.Fatalf("header = %+v", f)
	}
	p, err := f.Open([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Mnemonic, testPlain().Mnemonic) || string(p.BIP39Passphrase) != "25th" {
		t.Fatal("opened plaintext differs")
	}
	p.Wipe()
	if p.Mnemonic[0] != 0 {
		t.Fatal("Wipe left the mnemonic")
	}
	// CLI-R29: a wrong passphrase is WRONG_PASSPHRASE, exit 6.
	if _, err := f.Open([]byte("wrong")); codeOf(err) != output.CodeWrongPassphrase {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Two seals of the same secret never share salt or nonce.
	if bytes.Equal(sealed(t), b) {
		t.Fatal("two seals are identical")
	}
}

// CLI-R25: the plaintext type never prints or marshals.
func TestPlainRedacted(t *testing.T) {
	t.Parallel()
	p := testPlain()
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s %q", *p, p, p, p, p)} {
		if strings.Contains(s, "abandon") || strings.Contains(s, "25th") {
			t.Fatalf("formatted plaintext: %s", s)
		}
	}
	if _, err := json.Marshal(p); err == nil {
		t.Fatal("json.Marshal of the plaintext succeeded")
	}
}

// cli.md §6.1: the associated data binds the header; editing it fails like a wrong passphrase
// (CLI-T8) or is refused as corrupt.
func TestHeaderBound(t *testing.T) {
	t.Parallel()
	b := sealed(t)
	edits := []struct {
		name     string
		from, to string
	}{
		{"fingerprint digit", testFP, testFP[:len(testFP)-1] + "d"},
		{"kdf time", `"time": 1`, `"time": 2`},
		{"kdf threads", `"threads": 1`, `"threads": 2`},
		{"index", `"index": 0,`, `"index": 1,`},
	}
	for _, e := range edits {
		mod := bytes.Replace(b, []byte(e.from), []byte(e.to), 1)
		if bytes.Equal(mod, b) {
			t.Fatalf("%s: edit did not apply", e.name)
		}
		f, err := keystore.Parse(mod)
		if err != nil {
			if codeOf(err) != output.CodeKeystoreCorrupt {
				t.Fatalf("%s: Parse = %v", e.name, err)
			}
			continue
		}
		if _, err := f.Open([]byte("correct horse")); codeOf(err) != output.CodeWrongPassphrase {
			t.Fatalf("%s: Open of an edited header = %v, want WRONG_PASSPHRASE", e.name, err)
		}
	}
}

// CLI-R28: KDF parameters out of bounds and malformed files are KEYSTORE_CORRUPT (exit 8).
func TestParseRejects(t *testing.T) {
	t.Parallel()
	b := string(sealed(t))
	cases := map[string]string{
		"not json":        "{",
		"unknown field":   strings.Replace(b, `"format"`, `"extra": 1, "format"`, 1),
		"format":          strings.Replace(b, keystore.FormatName, "other", 1),
		"version":         strings.Replace(b, `"version": 1`, `"version": 2`, 1),
		"time zero":       strings.Replace(b, `"time": 1`, `"time": 0`, 1),
		"time too high":   strings.Replace(b, `"time": 1`, `"time": 65`, 1),
		"memory too low":  strings.Replace(b, `"memory_kib": 8192`, `"memory_kib": 8191`, 1),
		"memory too high": strings.Replace(b, `"memory_kib": 8192`, `"memory_kib": 4194305`, 1),
		"threads":         strings.Replace(b, `"threads": 1`, `"threads": 65`, 1),
		"path":            strings.Replace(b, `m/74'/0'/0'/0'`, `m/74'/0'/0'/1'`, 1),
		"fingerprint":     strings.Replace(b, testFP, strings.ToUpper(testFP), 1),
		"protection":      strings.Replace(b, keystore.ProtectionSealed, "rot13", 1),
		"trailing":        b + "{}",
	}
	for name, doc := range cases {
		if _, err := keystore.Parse([]byte(doc)); codeOf(err) != output.CodeKeystoreCorrupt || output.ExitCode(output.CodeKeystoreCorrupt) != 8 {
			t.Errorf("%s: Parse = %v", name, err)
		}
	}
}

// cli.md §6.1: protection "none" keeps the secret in the clear; nothing binds the header.
func TestUnprotected(t *testing.T) {
	t.Parallel()
	f := keystore.SealNone(testPlain(), testID, time.Now())
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"kdf"`)) || !bytes.Contains(b, []byte(`"secret"`)) {
		t.Fatalf("unprotected file = %s", b)
	}
	g, err := keystore.Parse(b)
	if err != nil || g.Protected() {
		t.Fatalf("Parse = %+v, %v", g, err)
	}
	p, err := g.Open(nil)
	if err != nil || !bytes.Equal(p.Mnemonic, testPlain().Mnemonic) {
		t.Fatalf("Open = %v", err)
	}
}

// CLI-R30, CLI-R8, CLI-R9: files on disk.
func TestLoadSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "keystore.json")
	if _, _, err := keystore.Load(p); codeOf(err) != output.CodeNotInitialized || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing keystore: %v", err)
	}
	f, err := keystore.Parse(sealed(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := keystore.Save(p, f); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	if _, w, err := keystore.Load(p); err != nil || len(w) != 0 {
		t.Fatalf("Load = %v %v", w, err)
	}
	// A protected keystore with loose permissions loads with a warning.
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, w, err := keystore.Load(p); err != nil || len(w) != 1 {
		t.Fatalf("loose protected keystore: %v %v", w, err)
	}
	// An unprotected one is refused.
	u := filepath.Join(dir, "plain.json")
	if err := keystore.Save(u, keystore.SealNone(testPlain(), testID, time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keystore.Load(u); err != nil {
		t.Fatalf("unprotected 0600: %v", err)
	}
	if err := os.Chmod(u, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keystore.Load(u); codeOf(err) != output.CodeInsecurePermissions {
		t.Fatalf("unprotected 0640: %v", err)
	}
	bak, err := keystore.Backup(p, time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	if err != nil || filepath.Base(bak) != "keystore.json.bak-20260701T120000Z" {
		t.Fatalf("Backup = %q, %v", bak, err)
	}
}
