package vault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/vault"
)

// secretForms lists encodings of b that must never appear in output.
func secretForms(b []byte) []string {
	return []string{
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), string(b), fmt.Sprint(b),
		strings.Trim(fmt.Sprint(b[:6]), "[]"), hex.EncodeToString(b[:8]),
	}
}

func assertRedacted(t *testing.T, outputs []string, secret []byte, needMarker bool) {
	t.Helper()
	forms := secretForms(secret)
	for _, out := range outputs {
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Errorf("output %q contains secret form %q", out, f)
			}
		}
		if needMarker && !strings.Contains(out, "[REDACTED]") {
			t.Errorf("output %q lacks [REDACTED]", out)
		}
	}
}

func render(x any) []string {
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, x))
	}
	j, err := json.Marshal(x)
	if err == nil {
		outs = append(outs, string(j))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "value", x)
	outs = append(outs, buf.String())
	return outs
}

// VAULT-T42, VAULT-R94: DerivedKey and *DerivedKey redact everywhere; a
// caller struct holding one in an unexported field leaks nothing.
func TestDerivedKeyRedaction(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	for _, get := range []func() (*vault.DerivedKey, error){
		func() (*vault.DerivedKey, error) { return v.DeriveEd25519(vault.PathIdentity) },
		func() (*vault.DerivedKey, error) { return v.DeriveEncryptionKeyForVersion(2) },
	} {
		k, err := get()
		if err != nil {
			t.Fatal(err)
		}
		secret := bytes.Clone(k.PrivateKey())
		assertRedacted(t, render(k), secret, true)
		assertRedacted(t, render(*k), secret, true)
		type holder struct {
			name string
			key  vault.DerivedKey
			ptr  *vault.DerivedKey
		}
		h := holder{"x", *k, k}
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			assertRedacted(t, []string{fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h)}, secret, false)
		}
		j, _ := json.Marshal(k)
		var shape map[string]any
		if err := json.Unmarshal(j, &shape); err != nil {
			t.Fatal(err)
		}
		if len(shape) != 4 || shape["private_key"] != "[REDACTED]" || shape["key_type"] != string(k.Type()) || shape["path"] != k.Path() {
			t.Errorf("JSON shape %s", j)
		}
		if k.Type() == vault.KeyTypeAES256GCM && shape["public_key"] != nil {
			t.Errorf("AES key JSON public_key %v, want null", shape["public_key"])
		}
		if k.Type() == vault.KeyTypeEd25519 && shape["public_key"] != pinIdentityPub {
			t.Errorf("Ed25519 JSON public_key %v", shape["public_key"])
		}
		var back vault.DerivedKey
		if err := json.Unmarshal(j, &back); err == nil {
			t.Error("json.Unmarshal into DerivedKey succeeded")
		}
		if err := json.Unmarshal([]byte(`{"private_key":[1,2,3]}`), &back); err == nil {
			t.Error("json.Unmarshal of a raw key array succeeded")
		}
	}
	// The zero value and a nil pointer do not panic.
	var zero vault.DerivedKey
	_ = render(zero)
	var nilKey *vault.DerivedKey
	_ = fmt.Sprintf("%v %+v %#v", nilKey, nilKey, nilKey)
	if j, err := json.Marshal(nilKey); err != nil || string(j) != "null" {
		t.Errorf("nil pointer JSON %s %v", j, err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "key", nilKey) // must not panic
	if buf.Len() == 0 {
		t.Error("slog wrote nothing for a nil key")
	}
}

// VAULT-T42, VAULT-R97: an unlocked *Vault never prints its seed or cache.
func TestVaultRedaction(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	k, _ := v.DeriveEd25519(vault.PathIdentity)
	seed := bytes.Clone(vault.SeedBuffer(v))
	outs := render(v)
	assertRedacted(t, outs, seed, false)
	assertRedacted(t, outs, k.PrivateKey(), false)
	if got := fmt.Sprintf("%+v", v); got != "vault.Vault{unlocked}" {
		t.Errorf("%%+v of an unlocked vault = %q", got)
	}
	type holder struct{ v *vault.Vault }
	assertRedacted(t, []string{fmt.Sprintf("%+v", holder{v}), fmt.Sprintf("%#v", &holder{v})}, seed, false)
	v.Lock()
	if got := v.String(); got != "vault.Vault{locked}" {
		t.Errorf("String of a locked vault = %q", got)
	}
}

// VAULT-T43: errors from the vault carry no key, seed or plaintext bytes and
// no passphrase.
func TestErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	blob, _ := v.Encrypt([]byte("plaintext-secret-value"), 2)
	bad := blob
	bad.KeyVersion = 3
	_, e1 := v.Decrypt(bad)
	_, e2 := v.Encrypt(append([]byte("plaintext-secret-value"), 0xff), 2)
	e3 := v.Unlock([]byte(testPhrase), []byte("hunter2"))
	w := vault.New(vault.Config{})
	e4 := w.Unlock([]byte(testPhrase), append([]byte("hunter2"), 0xff))
	e5 := w.Unlock([]byte("abandon abandon hunter abandon"), nil)
	seed := vault.SeedBuffer(v)
	key, _ := v.DeriveEncryptionKeyForVersion(2)
	for _, err := range []error{e1, e2, e3, e4, e5} {
		if err == nil {
			t.Fatal("expected an error")
		}
		s := err.Error()
		for _, leak := range []string{"plaintext-secret-value", "hunter2", "hunter", blob.Data, blob.IV} {
			if strings.Contains(s, leak) {
				t.Errorf("error %q contains %q", s, leak)
			}
		}
		assertRedacted(t, []string{s}, seed, false)
		assertRedacted(t, []string{s}, key.PrivateKey(), false)
	}
}
