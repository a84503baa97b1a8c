package sqlitestore_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// PSTORE-T27
func TestKillMidWrite(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		p := storePath(t)
		s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
		_ = s.Close()
		h := startHelper(t, "putloop", p, "", 0)
		k := 1 + round%7
		for range k {
			h.next(t, "put ")
		}
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()

		s2, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: p, DisableWatch: true})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		integrityOK(t, s2)
		recs, err := s2.Identities().PeerRecords(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]int{}
		for _, r := range recs {
			have[r.PeerID] = len(r.Fingerprints)
		}
		for i := range k {
			if have[fmt.Sprintf("p%d", i)] != 16 {
				t.Errorf("round %d: peer p%d has %d fingerprints", round, i, have[fmt.Sprintf("p%d", i)])
			}
		}
		for id, n := range have {
			if n != 16 {
				t.Errorf("round %d: peer %s has %d fingerprints, want all 16", round, id, n)
			}
		}
		if got, want := s2.Stats().Generations[sqlitestore.ChannelPeers], int64(17*len(have)); got != want {
			t.Errorf("round %d: peers generation %d, want %d for %d peers", round, got, want, len(have))
		}
		_ = s2.Close()
	}
}

const slowMigration = `CREATE TABLE filler (x INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)
INSERT INTO filler SELECT x FROM c;`

// PSTORE-T28
func TestKillMidMigration(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	h := startHelper(t, "migrate", p, slowMigration, 0)
	for {
		l := h.next(t, "")
		if strings.Contains(l, "migration start") {
			break
		}
	}
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()

	o := sqlitestore.WithMigration(sqlitestore.Options{Path: p, ReadOnly: true, DisableWatch: true}, 2, "slow", slowMigration)
	s2, err := sqlitestore.Open(t.Context(), o)
	switch alkerr.CodeOf(err) {
	case sqlitestore.CodeSchemaOutdated:
		// Old version intact.
		old := open(t, sqlitestore.Options{Path: p, DisableWatch: true})
		if in, err := old.Info(t.Context()); err != nil || in.SchemaVersion != 1 {
			t.Errorf("old store: %+v, %v", in, err)
		}
		if n := countRows(t, old, "SELECT count(*) FROM sqlite_schema WHERE name = 'filler'"); n != 0 {
			t.Errorf("half-applied migration left its table")
		}
		integrityOK(t, old)
		if _, ok := resolves(old, fp(1)); !ok {
			t.Errorf("peer lost")
		}
	case "":
		t.Cleanup(func() { _ = s2.Close() })
		if n := countRows(t, s2, "SELECT count(*) FROM filler"); n != 3000000 {
			t.Errorf("applied migration has %d rows", n)
		}
		integrityOK(t, s2)
	default:
		t.Fatalf("reopen after a killed migration: %v", err)
	}
}

// PSTORE-T29
func TestKillMidRotate(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	for i := range 6 {
		if err := s.Credentials().Put(t.Context(), "prov"+strconv.Itoa(i), blob(2, "b")); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	h := startHelper(t, "rotate", p, "", 0)
	h.next(t, "rotating ")
	h.next(t, "rotating ")
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
	s2 := open(t, sqlitestore.Options{Path: p, DisableWatch: true})
	vs := versions(t, s2)
	first := vs["prov0"]
	for prov, v := range vs {
		if v != first {
			t.Fatalf("mixed versions after a killed rotation: %v (%s)", vs, prov)
		}
	}
	kv, _ := s2.Credentials().CurrentKeyVersion(t.Context())
	if kv != first {
		t.Errorf("key version %d, rows at %d", kv, first)
	}
}
