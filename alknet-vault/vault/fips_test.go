package vault_test

import (
	"crypto/fips140"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/bip39"
	"github.com/alknet/alknet/alknet-vault/slip10"
	"github.com/alknet/alknet/alknet-vault/vault"
)

// fipsChildEnv marks the re-run of the test binary under
// GODEBUG=fips140=only.
const fipsChildEnv = "ALKNET_VAULT_FIPS_CHILD"

// VAULT-T26, VAULT-R17: under GODEBUG=fips140=only nothing panics, unlocking
// and derivation give VAULT_FIPS_ONLY_MODE and the vault stays locked.
func TestFIPSOnlyMode(t *testing.T) {
	if os.Getenv(fipsChildEnv) == "1" {
		fipsChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSOnlyMode$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fipsChildEnv+"=1", "GODEBUG=fips140=only")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestFIPSOnlyMode") {
		t.Fatalf("child under fips140=only failed: %v\n%s", err, out)
	}
}

func fipsChild(t *testing.T) {
	v := vault.New(vault.Config{})
	for _, pass := range [][]byte{nil, []byte("sixteen-byte-pwd")} {
		err := v.Unlock([]byte(testPhrase), pass)
		wantCode(t, "Unlock", err, vault.CodeFIPSOnlyMode)
	}
	_, err := v.UnlockNew(24)
	wantCode(t, "UnlockNew", err, vault.CodeFIPSOnlyMode)
	if v.IsUnlocked() {
		t.Fatal("vault unlocked under fips140=only")
	}
	_, err = v.DeriveEd25519(vault.PathIdentity)
	wantCode(t, "DeriveEd25519", err, vault.CodeLocked)
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	_, err = slip10.DeriveEd25519(seed, slip10.Path{})
	wantCode(t, "slip10.DeriveEd25519", err, vault.CodeFIPSOnlyMode)
	_, err = slip10.MasterEd25519(seed)
	wantCode(t, "slip10.MasterEd25519", err, vault.CodeFIPSOnlyMode)
	_, err = bip39.Seed([]byte(testPhrase), []byte("sixteen-byte-pwd"))
	wantCode(t, "bip39.Seed", err, vault.CodeFIPSOnlyMode)

	// A caller that deliberately lifts enforcement gets normal behaviour;
	// outside that scope every primitive is refused with the FIPS code.
	fips140.WithoutEnforcement(func() {
		if err := v.Unlock([]byte(testPhrase), nil); err != nil {
			t.Errorf("Unlock without enforcement: %v", err)
			return
		}
		if got := pubHex(t, v, vault.PathIdentity); got != pinIdentityPub {
			t.Errorf("identity without enforcement %s", got)
		}
	})
	defer v.Lock()
	_, err = v.DeriveEd25519(vault.PathSSHHost)
	wantCode(t, "DeriveEd25519 enforced", err, vault.CodeFIPSOnlyMode)
	_, err = v.Encrypt([]byte("x"), 2)
	wantCode(t, "Encrypt enforced", err, vault.CodeFIPSOnlyMode)
	blob, _ := vault.ParseEncryptedData([]byte(pinBlob))
	_, err = v.Decrypt(blob)
	wantCode(t, "Decrypt enforced", err, vault.CodeFIPSOnlyMode)
}
