package vault_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/bip39"
	"github.com/alknet/alknet/alknet-vault/slip10"
	"github.com/alknet/alknet/alknet-vault/vault"
)

// testPhrase is abandon×11 about, the VAULT-T8 mnemonic.
const testPhrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// otherPhrase is a second valid mnemonic (a BIP-39 vector).
const otherPhrase = "legal winner thank year wave sausage worth useful legal winner thank yellow"

// VAULT-T8 pinned values for testPhrase with an empty passphrase.
const (
	pinIdentityPub = "e78c2766a792f09bfccb51493968ac322283e8d021a30063784d806929762ecc"
	pinDevice1Pub  = "733961f7573657324f22e91f06ea4f0b359e2efa0ccffc954616dadee7444daa"
	pinSSHPub      = "6a9dd5c41915fba6cc22b8760263aba45b068cae7bead1d069c7b8eeb0118134"
	pinAESv2       = "fbed5fa9110df4214baa259a4cd6bd3902373231472d317b8f3686b1d63df17a"
	pinAESv3       = "3ddaf7a4485d755c959c883347420fdc9fa2a64fb1edae8a5f312e82c210f0f0"
	pinBlob        = `{"key_version":2,"salt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","iv":"AAECAwQFBgcICQoL","data":"bohwfkKYeHsg/83jhIYnmgaENWRs2SbSUyCfKyIwUiToUe3D1pQ="}`
	pinPlaintext   = "alknet test credential"
)

func unlocked(t testing.TB, cfg vault.Config, phrase string) *vault.Vault {
	t.Helper()
	v := vault.New(cfg)
	if err := v.Unlock([]byte(phrase), nil); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	t.Cleanup(v.Lock)
	return v
}

func wantCode(t *testing.T, what string, err error, code vault.Code) {
	t.Helper()
	if vault.CodeOf(err) != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

func pubHex(t *testing.T, v *vault.Vault, path string) string {
	t.Helper()
	k, err := v.DeriveEd25519(path)
	if err != nil {
		t.Fatalf("DeriveEd25519(%s): %v", path, err)
	}
	defer k.Wipe()
	return hex.EncodeToString(k.PublicKey())
}

func aesHex(t *testing.T, v *vault.Vault, version uint32) string {
	t.Helper()
	k, err := v.DeriveEncryptionKeyForVersion(version)
	if err != nil {
		t.Fatalf("DeriveEncryptionKeyForVersion(%d): %v", version, err)
	}
	defer k.Wipe()
	return hex.EncodeToString(k.PrivateKey())
}

// VAULT-T8: alknet known answers for the one-way doors R13–R16, R21–R23 and
// R30–R32.
func TestAlknetKnownAnswers(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	if got := pubHex(t, v, vault.PathIdentity); got != pinIdentityPub {
		t.Errorf("identity public key %s, want %s", got, pinIdentityPub)
	}
	d1, _ := vault.DevicePath(1)
	if got := pubHex(t, v, d1); got != pinDevice1Pub {
		t.Errorf("device 1 public key %s, want %s", got, pinDevice1Pub)
	}
	if got := pubHex(t, v, vault.PathSSHHost); got != pinSSHPub {
		t.Errorf("SSH host public key %s, want %s", got, pinSSHPub)
	}
	if got := aesHex(t, v, 2); got != pinAESv2 {
		t.Errorf("v2 AES key %s, want %s", got, pinAESv2)
	}
	if got := aesHex(t, v, 3); got != pinAESv3 {
		t.Errorf("v3 AES key %s, want %s", got, pinAESv3)
	}
	blob, err := vault.ParseEncryptedData([]byte(pinBlob))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := v.Decrypt(blob)
	if err != nil || string(pt) != pinPlaintext {
		t.Errorf("Decrypt(pinned blob) = %q, %v", pt, err)
	}
	// The identity private key is the RFC 8032 seed of that public key
	// (VAULT-R32), and Ed25519PrivateKey builds the matching key.
	k, _ := v.DeriveEd25519(vault.PathIdentity)
	defer k.Wipe()
	priv, err := k.Ed25519PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(priv.Public().(ed25519.PublicKey)) != pinIdentityPub {
		t.Error("Ed25519PrivateKey does not match the public key")
	}
	if !bytes.Equal(priv.Seed(), k.PrivateKey()) {
		t.Error("private key is not the RFC 8032 seed")
	}
	clear(priv)
}

// VAULT-T4 (through the Vault API): DeriveEd25519 after Unlock equals
// slip10.DeriveEd25519 on the bip39 seed.
func TestVaultMatchesSlip10(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, otherPhrase)
	seed, err := bip39.Seed([]byte(otherPhrase), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"m/0'", "m/0'/1'/2'/2'/1000000000'", vault.PathIdentity, vault.PathEncryption} {
		p, _ := slip10.ParsePath(path)
		n, err := slip10.DeriveEd25519(seed, p)
		if err != nil {
			t.Fatal(err)
		}
		k, err := v.DeriveEd25519(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.PrivateKey(), n.PrivateKey()) || !bytes.Equal(k.PublicKey(), n.PublicKeyEd25519()) {
			t.Errorf("%s: vault and slip10 disagree", path)
		}
		if k.Path() != p.String() || k.Type() != vault.KeyTypeEd25519 {
			t.Errorf("%s: Path %q Type %q", path, k.Path(), k.Type())
		}
	}
	// Empty passphrase through Unlock equals bip39.Seed(..., nil) (VAULT-T1).
	if !bytes.Equal(vault.SeedBuffer(v), seed) {
		t.Error("vault seed differs from bip39.Seed with a nil passphrase")
	}
}

// VAULT-T5 (layout): a hand-built blob under the slip10 key at
// PathEncryption decrypts, and a vault blob opens with plain stdlib code.
func TestEncryptedDataLayout(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	seed, _ := bip39.Seed([]byte(testPhrase), nil)
	p, _ := slip10.ParsePath(vault.PathEncryption)
	n, _ := slip10.DeriveEd25519(seed, p)
	key := bytes.Clone(n.PrivateKey())
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	data := gcm.Seal(nil, nonce, []byte(pinPlaintext), nil)
	blob := vault.EncryptedData{
		KeyVersion: 2,
		Salt:       base64.StdEncoding.EncodeToString(make([]byte, 32)),
		IV:         base64.StdEncoding.EncodeToString(nonce),
		Data:       base64.StdEncoding.EncodeToString(data),
	}
	pt, err := v.Decrypt(blob)
	if err != nil || string(pt) != pinPlaintext {
		t.Fatalf("Decrypt(hand-built) = %q, %v", pt, err)
	}
	b, err := v.Encrypt([]byte("stdlib check"), 2)
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := base64.StdEncoding.DecodeString(b.IV)
	ct, _ := base64.StdEncoding.DecodeString(b.Data)
	salt, _ := base64.StdEncoding.DecodeString(b.Salt)
	if len(iv) != 12 || len(salt) != 32 || len(ct) != len("stdlib check")+16 {
		t.Errorf("blob sizes iv %d salt %d data %d", len(iv), len(salt), len(ct))
	}
	out, err := gcm.Open(nil, iv, ct, nil)
	if err != nil || string(out) != "stdlib check" {
		t.Errorf("stdlib Open = %q, %v", out, err)
	}
}

// VAULT-T7, VAULT-R21..R23: constants and helpers.
func TestPaths(t *testing.T) {
	t.Parallel()
	consts := map[string]string{
		vault.PathIdentity:     "m/74'/0'/0'/0'",
		vault.PathDevicePrefix: "m/74'/0'/0'",
		vault.PathSSHHost:      "m/74'/0'/1'/0'",
		vault.PathEncryption:   "m/74'/2'/0'/0'",
		vault.PathEthereum:     "m/44'/60'/0'/0/0",
	}
	for got, want := range consts {
		if got != want {
			t.Errorf("constant %q, want %q", got, want)
		}
		p, err := slip10.ParsePath(got)
		if err != nil || p.String() != got {
			t.Errorf("constant %q is not canonical: %v", got, err)
		}
	}
	if vault.CurrentKeyVersion != 2 {
		t.Errorf("CurrentKeyVersion = %d", vault.CurrentKeyVersion)
	}
	if d0, _ := vault.DevicePath(0); d0 != vault.PathIdentity {
		t.Errorf("DevicePath(0) = %q", d0)
	}
	if d1, _ := vault.DevicePath(1); d1 != "m/74'/0'/0'/1'" {
		t.Errorf("DevicePath(1) = %q", d1)
	}
	if d, err := vault.DevicePath(1<<31 - 1); err != nil || d != "m/74'/0'/0'/2147483647'" {
		t.Errorf("DevicePath(2^31-1) = %q, %v", d, err)
	}
	_, err := vault.DevicePath(1 << 31)
	wantCode(t, "DevicePath(2^31)", err, vault.CodeInvalidPath)
	for v, want := range map[uint32]string{2: vault.PathEncryption, 3: "m/74'/2'/0'/1'", 4: "m/74'/2'/0'/2'", 1<<31 + 1: "m/74'/2'/0'/2147483647'"} {
		if got, err := vault.EncryptionPathForVersion(v); err != nil || got != want {
			t.Errorf("EncryptionPathForVersion(%d) = %q, %v; want %q", v, got, err, want)
		}
	}
	for _, v := range []uint32{0, 1, 1<<31 + 2, 1<<32 - 1} {
		_, err := vault.EncryptionPathForVersion(v)
		wantCode(t, "EncryptionPathForVersion", err, vault.CodeInvalidKeyVersion)
	}
	_, err = vault.EncryptionPathForVersion(1)
	if !strings.Contains(err.Error(), "retired PBKDF2") {
		t.Errorf("version 1 error %q does not explain the retired format", err)
	}
	p, _ := slip10.ParsePath(vault.PathIdentity)
	if got := p.Indices(); got[0] != 0x8000004A || got[1] != 0x80000000 || got[3] != 0x80000000 {
		t.Errorf("PathIdentity indices %x", got)
	}
}

// VAULT-T10, VAULT-R70, VAULT-R71: lifecycle.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	v := vault.New(vault.Config{})
	if v.IsUnlocked() {
		t.Fatal("new vault is unlocked")
	}
	checkLocked := func() {
		t.Helper()
		for name, f := range map[string]func() error{
			"DeriveEd25519":          func() error { _, err := v.DeriveEd25519(vault.PathIdentity); return err },
			"DeriveEd25519 bad path": func() error { _, err := v.DeriveEd25519("garbage"); return err },
			"DeriveEncryptionKey":    func() error { _, err := v.DeriveEncryptionKey("m//"); return err },
			"ForVersion 1":           func() error { _, err := v.DeriveEncryptionKeyForVersion(1); return err },
			"DeriveEthereum":         func() error { _, err := v.DeriveEthereum(vault.PathEthereum); return err },
			"Encrypt bad version":    func() error { _, err := v.Encrypt([]byte("x"), 1); return err },
			"Encrypt bad plaintext":  func() error { _, err := v.Encrypt([]byte{0xff}, 2); return err },
			"Decrypt malformed":      func() error { _, err := v.Decrypt(vault.EncryptedData{}); return err },
			"Rotate malformed":       func() error { _, err := v.Rotate(vault.EncryptedData{KeyVersion: 1}, 0); return err },
			"Decrypt pinned":         func() error { b, _ := vault.ParseEncryptedData([]byte(pinBlob)); _, err := v.Decrypt(b); return err },
		} {
			wantCode(t, name, f(), vault.CodeLocked)
		}
	}
	checkLocked()
	v.EvictExpired()
	if err := v.Unlock([]byte(testPhrase), nil); err != nil {
		t.Fatal(err)
	}
	first := pubHex(t, v, vault.PathIdentity)
	if first != pinIdentityPub {
		t.Fatalf("identity %s", first)
	}
	wantCode(t, "second Unlock", v.Unlock([]byte(otherPhrase), nil), vault.CodeAlreadyUnlocked)
	_, err := v.UnlockNew(12)
	wantCode(t, "UnlockNew while unlocked", err, vault.CodeAlreadyUnlocked)
	if got := pubHex(t, v, vault.PathIdentity); got != first {
		t.Error("second Unlock changed the keys")
	}
	_, err = v.DeriveEthereum(vault.PathEthereum)
	wantCode(t, "DeriveEthereum", err, vault.CodeUnsupportedKeyType)
	v.Lock()
	v.Lock()
	checkLocked()
	// A failed unlock leaves the vault locked.
	wantCode(t, "bad mnemonic", v.Unlock([]byte("abandon abandon"), nil), vault.CodeInvalidMnemonic)
	wantCode(t, "bad passphrase", v.Unlock([]byte(testPhrase), []byte{0xff}), vault.CodeInvalidPassphrase)
	if v.IsUnlocked() {
		t.Fatal("failed Unlock unlocked the vault")
	}
	checkLocked()
	if err := v.Unlock([]byte(testPhrase), nil); err != nil {
		t.Fatal(err)
	}
	if got := pubHex(t, v, vault.PathIdentity); got != first {
		t.Error("unlocking again gave different keys")
	}
	v.Lock()
	// UnlockNew: bad count, then a fresh phrase that Unlock reproduces.
	_, err = v.UnlockNew(13)
	wantCode(t, "UnlockNew(13)", err, vault.CodeInvalidMnemonic)
	if v.IsUnlocked() {
		t.Fatal("failed UnlockNew unlocked the vault")
	}
	phrase, err := v.UnlockNew(24)
	if err != nil || len(strings.Fields(string(phrase))) != 24 {
		t.Fatalf("UnlockNew(24) = %d words, %v", len(strings.Fields(string(phrase))), err)
	}
	k1 := pubHex(t, v, vault.PathIdentity)
	v.Lock()
	if err := v.Unlock(phrase, nil); err != nil {
		t.Fatal(err)
	}
	if pubHex(t, v, vault.PathIdentity) != k1 {
		t.Error("UnlockNew's phrase does not reproduce its keys with an empty passphrase")
	}
	v.Lock()
}

// VAULT-T11: determinism and separation.
func TestDeterminismAndSeparation(t *testing.T) {
	t.Parallel()
	a := unlocked(t, vault.Config{}, testPhrase)
	b := unlocked(t, vault.Config{DisableCache: true}, testPhrase)
	c := vault.New(vault.Config{})
	if err := c.Unlock([]byte(testPhrase), []byte("TREZOR")); err != nil {
		t.Fatal(err)
	}
	defer c.Lock()
	keys := map[string]string{}
	for _, path := range []string{vault.PathIdentity, vault.PathSSHHost} {
		ka, kb, kc := pubHex(t, a, path), pubHex(t, b, path), pubHex(t, c, path)
		if ka != kb {
			t.Errorf("%s differs between two vaults", path)
		}
		if ka == kc {
			t.Errorf("%s equal under another passphrase", path)
		}
		k, _ := a.DeriveEd25519(path)
		keys[path] = hex.EncodeToString(k.PrivateKey())
	}
	keys["v2"] = aesHex(t, a, 2)
	keys["v3"] = aesHex(t, a, 3)
	seen := map[string]string{}
	for name, k := range keys {
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		seen[k] = name
	}
	// VAULT-R76: both encryption-key methods agree; the public key is nil.
	k1, _ := a.DeriveEncryptionKeyForVersion(2)
	k2, _ := a.DeriveEncryptionKey(vault.PathEncryption)
	if !bytes.Equal(k1.PrivateKey(), k2.PrivateKey()) || k1.PublicKey() != nil || k2.PublicKey() != nil {
		t.Error("DeriveEncryptionKeyForVersion(2) and DeriveEncryptionKey(PathEncryption) disagree or carry a public key")
	}
	if k1.Type() != vault.KeyTypeAES256GCM || k1.Path() != vault.PathEncryption {
		t.Errorf("AES key type %q path %q", k1.Type(), k1.Path())
	}
	// Non-canonical spelling of a path gives the canonical Path().
	k3, err := a.DeriveEd25519("m/74h/0h/0h/0h")
	if err != nil || k3.Path() != vault.PathIdentity || hex.EncodeToString(k3.PublicKey()) != pinIdentityPub {
		t.Errorf("h-spelled identity: %v %q", err, k3.Path())
	}
}

// VAULT-T12: round trips.
func TestEncryptDecrypt(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	big := strings.Repeat("é漢字 🔑 ", 64<<10/14) // 14 bytes each, just under 64 KiB
	for _, pt := range []string{"", "sk-test-123", big, strings.Repeat("a", 64<<10)} {
		blob, err := v.Encrypt([]byte(pt), vault.CurrentKeyVersion)
		if err != nil {
			t.Fatalf("Encrypt(%d bytes): %v", len(pt), err)
		}
		if blob.KeyVersion != 2 {
			t.Errorf("key_version %d", blob.KeyVersion)
		}
		got, err := v.Decrypt(blob)
		if err != nil || string(got) != pt {
			t.Errorf("round trip of %d bytes: %v", len(pt), err)
		}
		again, _ := v.Encrypt([]byte(pt), 2)
		if again.IV == blob.IV || again.Salt == blob.Salt || again.Data == blob.Data {
			t.Error("two encryptions share iv, salt or data")
		}
		// Through JSON and back.
		j, _ := jsonMarshal(blob)
		parsed, err := vault.ParseEncryptedData(j)
		if err != nil || parsed != blob {
			t.Errorf("JSON round trip: %v", err)
		}
	}
}

// VAULT-T13: rotation.
func TestRotate(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	var seen []byte
	vault.SetRotateHook(v, func(pt []byte) { seen = pt })
	v2, err := v.Encrypt([]byte("rotate me"), 2)
	if err != nil {
		t.Fatal(err)
	}
	orig := v2
	v3, err := v.Rotate(v2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v2 != orig {
		t.Error("Rotate modified its input")
	}
	if v3.KeyVersion != 3 || v3.Data == v2.Data {
		t.Errorf("rotated blob version %d, data changed %v", v3.KeyVersion, v3.Data != v2.Data)
	}
	// VAULT-T41: the intermediate plaintext is zero afterwards.
	if len(seen) != len("rotate me") || !bytes.Equal(seen, make([]byte, len(seen))) {
		t.Errorf("Rotate left its plaintext %q", seen)
	}
	for _, b := range []vault.EncryptedData{v2, v3} {
		pt, err := v.Decrypt(b)
		if err != nil || string(pt) != "rotate me" {
			t.Errorf("Decrypt(v%d) = %q, %v", b.KeyVersion, pt, err)
		}
	}
	again, err := v.Rotate(v3, 3)
	if err != nil || again.KeyVersion != 3 || again.IV == v3.IV || again.Data == v3.Data {
		t.Errorf("v3→v3 did not re-randomise: %v", err)
	}
	out, err := v.Rotate(v2, 1)
	wantCode(t, "Rotate to 1", err, vault.CodeInvalidKeyVersion)
	if out != (vault.EncryptedData{}) {
		t.Error("failed Rotate returned a blob")
	}
	// Order (VAULT-R58): the blob's version before to, before structure.
	_, err = v.Rotate(vault.EncryptedData{KeyVersion: 1}, 0)
	wantCode(t, "Rotate bad blob version", err, vault.CodeInvalidKeyVersion)
	_, err = v.Rotate(vault.EncryptedData{KeyVersion: 2}, 0)
	wantCode(t, "Rotate bad to", err, vault.CodeInvalidKeyVersion)
	_, err = v.Rotate(vault.EncryptedData{KeyVersion: 2}, 3)
	wantCode(t, "Rotate malformed", err, vault.CodeMalformedCiphertext)
	tampered := v2
	tampered.KeyVersion = 3
	out, err = v.Rotate(tampered, 2)
	wantCode(t, "Rotate undecryptable", err, vault.CodeDecryptFailed)
	if out != (vault.EncryptedData{}) {
		t.Error("failed Rotate returned a blob")
	}
}

// VAULT-T25, VAULT-R54: plaintext checks; VAULT-R58 order.
func TestEncryptBadInput(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	_, err := v.Encrypt([]byte{'a', 0xff}, 2)
	wantCode(t, "non-UTF-8", err, vault.CodeInvalidPlaintext)
	_, err = v.Encrypt(bytes.Repeat([]byte("a"), 64<<10+1), 2)
	wantCode(t, "over 64 KiB", err, vault.CodeInvalidPlaintext)
	for _, ver := range []uint32{0, 1, 1<<31 + 2} {
		_, err = v.Encrypt([]byte{0xff}, ver)
		wantCode(t, "bad version before bad plaintext", err, vault.CodeInvalidKeyVersion)
	}
	if b, err := v.Encrypt([]byte("x"), 1<<31+1); err != nil || b.KeyVersion != 1<<31+1 {
		t.Errorf("largest version: %v", err)
	}
}

// VAULT-T22 (through Vault), VAULT-R31, VAULT-R34.
func TestVaultPaths(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	bad := []string{"", "74'/0'", "m//0'", "m/0x1'", "m/-1'", "m/01'", "m/2147483648'", "m/0'/1", "m", "m" + strings.Repeat("/0'", 256), vault.PathEthereum}
	for _, p := range bad {
		_, err := v.DeriveEd25519(p)
		wantCode(t, "DeriveEd25519("+p+")", err, vault.CodeInvalidPath)
		_, err = v.DeriveEncryptionKey(p)
		wantCode(t, "DeriveEncryptionKey("+p+")", err, vault.CodeInvalidPath)
	}
	if _, err := v.DeriveEd25519("m" + strings.Repeat("/0'", 255)); err != nil {
		t.Errorf("255 components: %v", err)
	}
	for _, ver := range []uint32{0, 1, 1<<31 + 2} {
		_, err := v.DeriveEncryptionKeyForVersion(ver)
		wantCode(t, "DeriveEncryptionKeyForVersion", err, vault.CodeInvalidKeyVersion)
	}
}

// VAULT-T24, VAULT-R55: tampering and a wrong seed all give one error.
func TestTampering(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	blob, err := v.Encrypt([]byte("tamper target"), 2)
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := base64.StdEncoding.DecodeString(blob.IV)
	data, _ := base64.StdEncoding.DecodeString(blob.Data)
	var msgs []string
	check := func(what string, b vault.EncryptedData) {
		t.Helper()
		pt, err := v.Decrypt(b)
		if vault.CodeOf(err) != vault.CodeDecryptFailed || pt != nil {
			t.Fatalf("%s: Decrypt = %q, %v; want VAULT_DECRYPT_FAILED and no plaintext", what, pt, err)
		}
		if !errors.Is(err, vault.ErrDecryptFailed) {
			t.Fatalf("%s: errors.Is(ErrDecryptFailed) = false", what)
		}
		msgs = append(msgs, err.Error())
	}
	for i := range iv {
		m := bytes.Clone(iv)
		m[i] ^= 0x01
		b := blob
		b.IV = base64.StdEncoding.EncodeToString(m)
		check("iv byte", b)
	}
	for i := range data { // ciphertext bytes and the 16 tag bytes
		m := bytes.Clone(data)
		m[i] ^= 0x80
		b := blob
		b.Data = base64.StdEncoding.EncodeToString(m)
		check("data byte", b)
	}
	b := blob
	b.KeyVersion = 3
	check("key_version 2→3", b)
	w := unlocked(t, vault.Config{}, otherPhrase)
	pt, err := w.Decrypt(blob)
	if vault.CodeOf(err) != vault.CodeDecryptFailed || pt != nil {
		t.Fatalf("wrong mnemonic: %q, %v", pt, err)
	}
	msgs = append(msgs, err.Error())
	p := vault.New(vault.Config{})
	_ = p.Unlock([]byte(testPhrase), []byte("different passphrase"))
	defer p.Lock()
	_, err = p.Decrypt(blob)
	msgs = append(msgs, err.Error())
	for _, m := range msgs {
		if m != msgs[0] {
			t.Fatalf("decrypt failures differ: %q vs %q", m, msgs[0])
		}
	}
	// The salt is neither used nor authenticated (VAULT-R55).
	b = blob
	b.Salt = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	if pt, err := v.Decrypt(b); err != nil || string(pt) != "tamper target" {
		t.Errorf("changed salt: %q, %v", pt, err)
	}
	b.Salt = "not base64 at all!"
	if _, err := v.Decrypt(b); err != nil {
		t.Errorf("arbitrary salt string: %v", err)
	}
	// A non-UTF-8 plaintext under the right key is a decrypt failure too.
	key, _ := v.DeriveEncryptionKeyForVersion(2)
	block, _ := aes.NewCipher(key.PrivateKey())
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	b = vault.EncryptedData{KeyVersion: 2, IV: base64.StdEncoding.EncodeToString(nonce),
		Data: base64.StdEncoding.EncodeToString(gcm.Seal(nil, nonce, []byte{0xff, 0xfe}, nil))}
	check("non-UTF-8 plaintext", b)
}

// VAULT-T45: 10 000 encryptions give 10 000 distinct IVs.
func TestIVUniqueness(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	seen := make(map[string]bool, 10000)
	for range 10000 {
		b, err := v.Encrypt(nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		if seen[b.IV] {
			t.Fatal("IV repeated")
		}
		seen[b.IV] = true
	}
}

// VAULT-T41: wiping, white-box.
func TestWiping(t *testing.T) {
	t.Parallel()
	phrase := []byte(testPhrase)
	pass := []byte("ascii passphrase")
	phraseCopy, passCopy := bytes.Clone(phrase), bytes.Clone(pass)
	v := vault.New(vault.Config{})
	if err := v.Unlock(phrase, pass); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(phrase, phraseCopy) || !bytes.Equal(pass, passCopy) {
		t.Fatal("Unlock modified the caller's phrase or passphrase (VAULT-R96)")
	}
	seed := vault.SeedBuffer(v)
	if len(seed) != 64 || bytes.Equal(seed, make([]byte, 64)) {
		t.Fatal("no seed installed")
	}
	k, _ := v.DeriveEd25519(vault.PathIdentity)
	_, _ = v.Encrypt([]byte("x"), 2)
	cached := vault.CacheBuffers(v)
	if len(cached) != 2 {
		t.Fatalf("%d cached keys, want 2", len(cached))
	}
	v.Lock()
	if !bytes.Equal(seed, make([]byte, 64)) {
		t.Error("Lock left seed bytes")
	}
	for _, b := range cached {
		if !bytes.Equal(b, make([]byte, 32)) {
			t.Error("Lock left a cached key")
		}
	}
	// The caller's DerivedKey is its own copy and survives Lock.
	priv := k.PrivateKey()
	if bytes.Equal(priv, make([]byte, 32)) {
		t.Error("Lock reached the caller's DerivedKey")
	}
	// DerivedKey.Wipe (VAULT-R77).
	cp := *k
	pub := k.PublicKey()
	k.Wipe()
	k.Wipe()
	if !bytes.Equal(priv, make([]byte, 32)) || k.PrivateKey() != nil || cp.PrivateKey() != nil {
		t.Error("Wipe did not zero the key or copies still return it")
	}
	_, err := k.Ed25519PrivateKey()
	wantCode(t, "Ed25519PrivateKey after Wipe", err, vault.CodeKeyWiped)
	if k.Type() != vault.KeyTypeEd25519 || k.Path() != vault.PathIdentity || !bytes.Equal(k.PublicKey(), pub) || len(pub) != 32 {
		t.Error("Type, Path or PublicKey stopped working after Wipe")
	}
	var zero vault.DerivedKey
	zero.Wipe()
	if zero.PrivateKey() != nil || zero.PublicKey() != nil {
		t.Error("zero DerivedKey has material")
	}
	_, err = zero.Ed25519PrivateKey()
	wantCode(t, "zero Ed25519PrivateKey", err, vault.CodeKeyWiped)
	// A nil *DerivedKey, as returned next to an error, behaves like the zero
	// value instead of panicking (VAULT-R77, VAULT-R101), so
	// `k, err := v.DeriveEd25519(p); defer k.Wipe()` is safe.
	var nilKey *vault.DerivedKey
	nilKey.Wipe()
	if nilKey.PrivateKey() != nil || nilKey.PublicKey() != nil || nilKey.Type() != "" || nilKey.Path() != "" {
		t.Error("nil *DerivedKey has material")
	}
	_, err = nilKey.Ed25519PrivateKey()
	wantCode(t, "nil Ed25519PrivateKey", err, vault.CodeKeyWiped)
	failed, err := unlocked(t, vault.Config{}, testPhrase).DeriveEd25519("m")
	wantCode(t, "DeriveEd25519(m)", err, vault.CodeInvalidPath)
	failed.Wipe()
	// An AES key is not an Ed25519 key.
	w := unlocked(t, vault.Config{}, testPhrase)
	a, _ := w.DeriveEncryptionKeyForVersion(2)
	_, err = a.Ed25519PrivateKey()
	wantCode(t, "AES Ed25519PrivateKey", err, vault.CodeUnsupportedKeyType)
	// ALREADY_UNLOCKED leaves the installed seed untouched.
	s1 := bytes.Clone(vault.SeedBuffer(w))
	_ = w.Unlock([]byte(otherPhrase), nil)
	if !bytes.Equal(s1, vault.SeedBuffer(w)) {
		t.Error("second Unlock changed the seed")
	}
}
