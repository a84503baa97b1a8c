package sqlitestore_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// PSTORE-F1: the load path's row conversion never panics, and an accepted row written back
// with PutPeer and reloaded is unchanged (fixed point).
func FuzzPeerRow(f *testing.F) {
	f.Add("worker-a", "", false, `["fs:read"]`, `{"service":["gitea"]}`, "Worker A", true, int64(1), fp(1)+","+certFP(1))
	f.Add("browser", "sha256:7ec7cb477fca72416a3809813a0df5c20de2ac67673ee45f090f9e0a487de7e6", true, `[]`, `{}`, "", false, int64(1), "")
	f.Add("off", "", false, `["a","a"]`, `{}`, "", false, int64(0), "")
	f.Add("bad", "", false, `[1]`, `{}`, "", false, int64(1), fp(2))
	f.Add("Upper", "", false, `[]`, `{"t":null}`, "", false, int64(2), strings.ToUpper(fp(3)))
	f.Add("x", "alk_raw", true, `{}`, `[]`, "\x00", true, int64(1), "ed25519:zz")
	s, _ := newStore(f)
	f.Fuzz(func(t *testing.T, id, hash string, hasHash bool, scopes, resources, display string, hasDisplay bool, enabled int64, fps string) {
		var list []string
		if fps != "" {
			list = strings.Split(fps, ",")
		}
		p, err := sqlitestore.PeerFromRow(sqlitestore.PeerRow{
			PeerID: id, TokenHash: hash, HasToken: hasHash, Scopes: scopes, Resources: resources,
			DisplayName: display, HasDisplay: hasDisplay, Enabled: enabled, Fingerprints: list,
		})
		if err != nil {
			if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
				t.Fatalf("rejection with code %q: %v", alkerr.CodeOf(err), err)
			}
			return
		}
		ctx := t.Context()
		if err := s.Identities().PutPeer(ctx, p); err != nil {
			switch alkerr.CodeOf(err) {
			case alkerr.CodeStoreInvalid, sqlitestore.CodeConflict:
				return // storage limits apply to writes only; earlier inputs may hold a fingerprint
			}
			t.Fatalf("PutPeer(%+v) = %v", p, err)
		}
		got, found, err := s.Identities().GetPeer(ctx, p.PeerID)
		if err != nil || !found || !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip of %+v: got %+v, %v, %v", p, got, found, err)
		}
		if err := s.Identities().RemovePeer(ctx, p.PeerID); err != nil {
			t.Fatal(err)
		}
	})
}

// PSTORE-F1 for the API-key rows of the load path, and APIKeys.Import (the import path from a
// config file): the conversion never panics; an accepted row imported and reloaded is unchanged
// and resolves like the entry it came from (fixed point, PSTORE-R31, R42).
func FuzzKeyRow(f *testing.F) {
	f.Add("alk_test", auth.HashToken([]byte("alk_testsecret")), `["fs:read"]`, "CI key", int64(4102444800), true)
	f.Add("alk_0000", "sha256:"+strings.Repeat("a", 64), `[]`, "", int64(0), false)
	f.Add("alk_x", "sha256:zz", `[1]`, "\x00", int64(-1), true)
	f.Add("ALK_TEST", "SHA256:"+strings.Repeat("A", 64), `["a","a"]`, "", int64(1), true)
	f.Add("alk_test", "alk_testsecret", `null`, "", int64(0), false)
	s, _ := newStore(f)
	f.Fuzz(func(t *testing.T, prefix, hash, scopes, description string, expiresAt int64, hasExpiry bool) {
		e, err := sqlitestore.KeyFromRow(prefix, hash, scopes, description, expiresAt, hasExpiry)
		if err != nil {
			if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
				t.Fatalf("rejection with code %q: %v", alkerr.CodeOf(err), err)
			}
			return
		}
		ctx := t.Context()
		rec, err := s.APIKeys().Import(ctx, e)
		if err != nil {
			switch alkerr.CodeOf(err) {
			case alkerr.CodeStoreInvalid, sqlitestore.CodeConflict:
				return // storage limits; a prefix or hash used by an earlier input stays taken
			}
			t.Fatalf("Import(%+v) = %v", e, err)
		}
		list, err := s.APIKeys().List(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		var got *sqlitestore.APIKeyRecord
		for i := range list {
			if list[i].Prefix == e.Prefix {
				got = &list[i]
			}
		}
		if got == nil || !reflect.DeepEqual(got.APIKeyEntry, rec.APIKeyEntry) {
			t.Fatalf("round trip of %+v: imported %+v, listed %+v", e, rec.APIKeyEntry, got)
		}
		if !slices.ContainsFunc(s.Identities().Policy().Source().APIKeys, func(k auth.APIKeyEntry) bool { return k.Prefix == e.Prefix && k.Hash == e.Hash }) {
			t.Fatalf("imported key %s is not in the served policy", e.Prefix)
		}
		if _, err := s.APIKeys().Revoke(ctx, e.Prefix); err != nil {
			t.Fatal(err)
		}
	})
}

// PSTORE-F2: decoding the JSON columns from arbitrary text never panics and yields either an
// error or a typed value that re-encodes to an equivalent document.
func FuzzJSONColumns(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `[1]`, `null`, `{}`, `{"service":["a"]}`, `{"a":null}`, `[] []`, `{"k":1}`, `"x"`, ``, `{"from":2,"to":3}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if sc, err := sqlitestore.DecodeScopes(text); err == nil {
			b, _ := json.Marshal(sc)
			again, err := sqlitestore.DecodeScopes(string(b))
			if err != nil || !reflect.DeepEqual(again, sc) {
				t.Fatalf("scopes %q: re-decode %v, %v", text, again, err)
			}
		} else if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
			t.Fatalf("scopes %q: code %q", text, alkerr.CodeOf(err))
		}
		if res, err := sqlitestore.DecodeResources(text); err == nil {
			m := res
			if m == nil {
				m = map[string][]string{}
			}
			b, _ := json.Marshal(m)
			again, err := sqlitestore.DecodeResources(string(b))
			if err != nil || !reflect.DeepEqual(again, res) {
				t.Fatalf("resources %q: re-decode %v, %v", text, again, err)
			}
		} else if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
			t.Fatalf("resources %q: code %q", text, alkerr.CodeOf(err))
		}
		if _, err := sqlitestore.DecodeDetail(text); err != nil && alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
			t.Fatalf("detail %q: code %q", text, alkerr.CodeOf(err))
		}
	})
}
