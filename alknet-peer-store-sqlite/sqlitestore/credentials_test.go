package sqlitestore_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// PSTORE-T16
func TestCredentialsRoundTrip(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	ctx := t.Context()
	c := s.Credentials()
	for i, salt := range [][]byte{nil, {}, bytes.Repeat([]byte{7}, 32)} {
		e := blob(2, "round-trip")
		e.Salt = salt
		name := []string{"nil-salt", "empty-salt", "full-salt"}[i]
		if err := c.Put(ctx, name, e); err != nil {
			t.Fatalf("Put(%s): %v", name, err)
		}
		got, found, err := c.Get(ctx, name)
		if err != nil || !found || !bytes.Equal(got.Salt, salt) || !bytes.Equal(got.Data, e.Data) || !bytes.Equal(got.IV, e.IV) || got.KeyVersion != 2 {
			t.Errorf("Get(%s) = %+v, %v, %v", name, got, found, err)
		}
	}
	if err := c.Delete(ctx, "absent"); err != nil {
		t.Errorf("Delete(absent) = %v", err)
	}
	if _, found, err := c.Get(ctx, "absent"); found || err != nil {
		t.Errorf("Get(absent) = %v, %v", found, err)
	}
	if _, found, err := c.Get(ctx, "a b"); found || err != nil {
		t.Errorf("Get(invalid name) = %v, %v", found, err)
	}
	bad := []store.EncryptedData{
		{KeyVersion: 2, IV: make([]byte, 11), Data: make([]byte, 16)},
		{KeyVersion: 2, IV: make([]byte, 12), Data: make([]byte, 15)},
		{KeyVersion: 0, IV: make([]byte, 12), Data: make([]byte, 16)},
		{KeyVersion: 2, Salt: make([]byte, 65), IV: make([]byte, 12), Data: make([]byte, 16)},
	}
	for i, e := range bad {
		if err := c.Put(ctx, "bad", e); alkerr.CodeOf(err) != alkerr.CodeStoreInvalid {
			t.Errorf("Put(bad %d) = %v, want STORE_INVALID", i, err)
		}
	}
	for _, name := range []string{"", "a b", string(bytes.Repeat([]byte("a"), 129))} {
		if err := c.Put(ctx, name, blob(2, "x")); alkerr.CodeOf(err) != alkerr.CodeStoreInvalid {
			t.Errorf("Put(%q) = %v, want STORE_INVALID", name, err)
		}
	}
	names, err := c.Providers(ctx)
	if err != nil || !reflect.DeepEqual(names, []string{"empty-salt", "full-salt", "nil-salt"}) {
		t.Errorf("Providers = %v, %v", names, err)
	}
	// No plaintext the test encrypted elsewhere reaches the file or its WAL: the blob is real
	// AES-GCM ciphertext of secretText, sealed here as the vault would.
	secretText := []byte("plaintext-api-key-sk-live-0123456789abcdef")
	key := bytes.Repeat([]byte{0x42}, 32)
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	iv := bytes.Repeat([]byte{0x24}, 12)
	sealed := store.EncryptedData{KeyVersion: 2, IV: iv, Data: gcm.Seal(nil, iv, secretText, nil)}
	if err := c.Put(ctx, "sealed", sealed); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, p + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, secretText) {
			t.Errorf("%s contains plaintext", f)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if bytes.Contains(b, secretText) {
		t.Errorf("store file contains plaintext after Close")
	}
}

// testCipher "re-encrypts" by flipping bits and stamping the version.
func testCipher(to uint32) func(string, store.EncryptedData) (store.EncryptedData, error) {
	return func(_ string, in store.EncryptedData) (store.EncryptedData, error) {
		out := in.Clone()
		for i := range out.Data {
			out.Data[i] ^= 0x5A
		}
		out.KeyVersion = to
		return out, nil
	}
}

func versions(t testing.TB, s *sqlitestore.Store) map[string]uint32 {
	t.Helper()
	recs, err := s.Credentials().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, r := range recs {
		out[r.Provider] = r.KeyVersion
	}
	return out
}

// PSTORE-T17
func TestCredentialsRotate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	setup := func(t *testing.T) *sqlitestore.Store {
		s, _ := newStore(t)
		for _, p := range []string{"a", "b", "c", "d"} {
			if err := s.Credentials().Put(ctx, p, blob(2, "blob-"+p)); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	t.Run("all", func(t *testing.T) {
		s := setup(t)
		res, err := s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{}, testCipher(3))
		if err != nil || len(res.Rotated) != 4 {
			t.Fatalf("Rotate = %+v, %v", res, err)
		}
		if v, _ := s.Credentials().CurrentKeyVersion(ctx); v != 3 {
			t.Errorf("CurrentKeyVersion = %d, want 3", v)
		}
		for p, v := range versions(t, s) {
			if v != 3 {
				t.Errorf("%s at version %d", p, v)
			}
		}
		got, _, _ := s.Credentials().Get(ctx, "a")
		if got.KeyVersion != 3 || bytes.Equal(got.Data, blob(2, "blob-a").Data) {
			t.Errorf("Get after rotation = %+v", got)
		}
		_, err = s.Credentials().Rotate(ctx, 2, sqlitestore.RotateOptions{}, testCipher(2))
		wantCode(t, err, alkerr.CodeStoreInvalid)
	})
	failThird := func(p string, in store.EncryptedData) (store.EncryptedData, error) {
		if p == "c" {
			return store.EncryptedData{}, errors.New("vault refused")
		}
		return testCipher(3)(p, in)
	}
	t.Run("abort", func(t *testing.T) {
		s := setup(t)
		if _, err := s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{}, failThird); err == nil {
			t.Fatal("Rotate with a failing callback succeeded")
		}
		for p, v := range versions(t, s) {
			if v != 2 {
				t.Errorf("%s at version %d after an aborted rotation", p, v)
			}
		}
		if v, _ := s.Credentials().CurrentKeyVersion(ctx); v != 2 {
			t.Errorf("CurrentKeyVersion = %d after abort", v)
		}
	})
	t.Run("skip", func(t *testing.T) {
		s := setup(t)
		res, err := s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{SkipFailed: true}, failThird)
		if err != nil || len(res.Rotated) != 3 || res.Failed["c"] == nil {
			t.Fatalf("Rotate(SkipFailed) = %+v, %v", res, err)
		}
		if v := versions(t, s); v["c"] != 2 || v["a"] != 3 {
			t.Errorf("versions = %v", v)
		}
		res, err = s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{SkipFailed: true}, testCipher(3))
		if err != nil || !reflect.DeepEqual(res.Rotated, []string{"c"}) {
			t.Errorf("second run = %+v, %v; want only c", res, err)
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		s := setup(t)
		_, err := s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{SkipFailed: true}, testCipher(4))
		wantCode(t, err, alkerr.CodeStoreInvalid)
		for p, v := range versions(t, s) {
			if v != 2 {
				t.Errorf("%s at version %d", p, v)
			}
		}
	})
}
