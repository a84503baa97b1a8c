package vault_test

import (
	"encoding/hex"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-vault/vault"
)

// VAULT-T31: racing unlocks, exactly one wins.
func TestUnlockRace(t *testing.T) {
	t.Parallel()
	v := vault.New(vault.Config{})
	defer v.Lock()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				errs[i] = v.Unlock([]byte(testPhrase), nil)
			} else {
				p, err := v.UnlockNew(12)
				clear(p)
				errs[i] = err
			}
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case vault.CodeOf(err) != vault.CodeAlreadyUnlocked:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d unlocks succeeded, want exactly 1", ok)
	}
}

// VAULT-T30: derivation and encryption race with Lock/Unlock; every result is
// correct or VAULT_LOCKED.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{CacheMaxEntries: 2}, testPhrase)
	pinned, err := vault.ParseEncryptedData([]byte(pinBlob))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{}) // closed by the test after the workers finish
	var locker sync.WaitGroup
	locker.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			v.Lock()
			if err := v.Unlock([]byte(testPhrase), nil); err != nil && vault.CodeOf(err) != vault.CodeAlreadyUnlocked {
				t.Errorf("Unlock: %v", err)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				switch (g + i) % 4 {
				case 0:
					k, err := v.DeriveEd25519(vault.PathIdentity)
					if err == nil {
						if hex.EncodeToString(k.PublicKey()) != pinIdentityPub {
							t.Error("wrong identity key under concurrency")
						}
						k.Wipe()
					} else if vault.CodeOf(err) != vault.CodeLocked {
						t.Errorf("DeriveEd25519: %v", err)
					}
				case 1:
					k, err := v.DeriveEncryptionKeyForVersion(3)
					if err == nil {
						if hex.EncodeToString(k.PrivateKey()) != pinAESv3 {
							t.Error("wrong v3 key under concurrency")
						}
						k.Wipe()
					} else if vault.CodeOf(err) != vault.CodeLocked {
						t.Errorf("DeriveEncryptionKeyForVersion: %v", err)
					}
				case 2:
					b, err := v.Encrypt([]byte("concurrent"), 2)
					if err != nil {
						if vault.CodeOf(err) != vault.CodeLocked {
							t.Errorf("Encrypt: %v", err)
						}
						continue
					}
					pt, err := v.Decrypt(b)
					if err == nil && string(pt) != "concurrent" {
						t.Error("wrong plaintext under concurrency")
					} else if err != nil && vault.CodeOf(err) != vault.CodeLocked {
						t.Errorf("Decrypt: %v", err)
					}
				case 3:
					pt, err := v.Decrypt(pinned)
					if err == nil && string(pt) != pinPlaintext {
						t.Error("wrong pinned plaintext under concurrency")
					} else if err != nil && vault.CodeOf(err) != vault.CodeLocked {
						t.Errorf("Decrypt pinned: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	locker.Wait()
}
