package sqlitestore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

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

// killMigrationRows is the size of each injected migration of TestKillMidMigration: large
// enough that its transaction spills uncommitted pages into the WAL before it commits.
const killMigrationRows = 150000

// withKillMigrations injects migrations 2 and 3, each creating and filling one table.
func withKillMigrations(o sqlitestore.Options) sqlitestore.Options {
	for v := 2; v <= 3; v++ {
		o = sqlitestore.WithMigration(o, v, fmt.Sprintf("fill%d", v), fmt.Sprintf(`CREATE TABLE filler%d (x INTEGER, pad TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)
INSERT INTO filler%d SELECT x, hex(randomblob(16)) FROM c;`, v, killMigrationRows, v))
	}
	return o
}

// PSTORE-T28, PSTORE-R56, R58: kill -9 of a helper while it migrates a store from version 1 to
// 3. The helper reports from inside each migration's transaction (a test hook, PSTORE-R80), so
// the kill lands at a chosen point: stopped inside migration 2 after its rows were written but
// before its commit (the old state must survive), stopped inside migration 3 after migration 2
// committed (migration 2 must be fully there, migration 3 not at all), and killed at once when
// migration 2 finishes its SQL, racing its commit (either state). Every round checks that the
// file is consistent (integrity, each migration all-or-nothing, data intact, the pre-migration
// backup usable), and that a normal Open then completes the migration. Across the rounds both
// the old and the new state are observed.
func TestKillMidMigration(t *testing.T) {
	t.Parallel()
	rounds := []struct {
		pause  string // hook point where the helper stops; "" races the kill against the commit
		killAt string // the helper's hook line that triggers the kill
		want   int    // required schema version after the kill; 0 = 1 or 2
	}{
		{pause: "2 applied", killAt: "2 applied", want: 1},
		{pause: "3 applied", killAt: "3 applied", want: 2},
		{pause: "", killAt: "2 applied"},
		{pause: "", killAt: "2 applied"},
	}
	seen := map[int]bool{}
	for i, r := range rounds {
		p := storePath(t)
		s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
		if err := s.Identities().PutPeer(t.Context(), peer("keep", fp(1))); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		h := startHelper(t, "migrate-hooked", p, r.pause, 0)
		h.next(t, "hook "+r.killAt)
		if r.pause != "" {
			// The helper waits inside the open transaction: its uncommitted pages are in the
			// WAL file now, so the kill really interrupts a migration that had written data.
			if fi, err := os.Stat(p + "-wal"); err != nil || fi.Size() < 1<<20 {
				t.Errorf("round %d: WAL before the kill: %v, %v; want uncommitted migration pages in it", i, fi, err)
			}
		}
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()

		v := checkKilledMigration(t, p)
		seen[v] = true
		t.Logf("round %d (pause %q, kill at %q): schema version %d after the kill", i, r.pause, r.killAt, v)
		if r.want != 0 && v != r.want {
			t.Errorf("round %d (kill at %q): schema version %d after the kill, want %d", i, r.killAt, v, r.want)
		}
		if v != 1 && v != 2 {
			t.Errorf("round %d: schema version %d after a kill inside migration 2 or 3", i, v)
		}

		// The next normal Open recovers the WAL and completes the migration (PSTORE-R58).
		s2 := open(t, withKillMigrations(sqlitestore.Options{Path: p, AutoMigrate: true, DisableWatch: true}))
		if in, err := s2.Info(t.Context()); err != nil || in.SchemaVersion != 3 {
			t.Errorf("round %d: after reopening: %+v, %v", i, in, err)
		}
		integrityOK(t, s2)
		if _, ok := resolves(s2, fp(1)); !ok {
			t.Errorf("round %d: peer lost after completing the migration", i)
		}
		_ = s2.Close()
	}
	if !seen[1] || !seen[2] {
		t.Errorf("observed schema versions %v after the kills, want both the old (1) and the new (2) state", seen)
	}
}

// checkKilledMigration inspects a store whose migration was killed, without migrating it, and
// returns its schema version: the file passes integrity_check, each injected migration is there
// completely (table with every row, schema_migrations row) or not at all, the peer written before
// survives, and the backup taken before migrating opens as a version-1 store.
func checkKilledMigration(t *testing.T, p string) int {
	t.Helper()
	db := plainDB(t, p, true)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after the kill = %q, %v", check, err)
	}
	var v int
	if err := db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		t.Fatal(err)
	}
	for m := 2; m <= 3; m++ {
		var tables, recorded int
		if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = ?", fmt.Sprintf("filler%d", m)).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT count(*) FROM schema_migrations WHERE version = ?", m).Scan(&recorded); err != nil {
			t.Fatal(err)
		}
		applied := m <= v
		if (tables == 1) != applied || (recorded == 1) != applied {
			t.Errorf("version %d: migration %d half there (table %d, recorded %d)", v, m, tables, recorded)
		}
		if applied {
			var n int
			if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM filler%d", m)).Scan(&n); err != nil || n != killMigrationRows {
				t.Errorf("migration %d holds %d rows (%v), want %d", m, n, err, killMigrationRows)
			}
		}
	}
	var peers int
	if err := db.QueryRow("SELECT count(*) FROM peers p JOIN peer_fingerprints f USING (peer_id) WHERE p.peer_id = 'keep' AND f.fingerprint = ?", fp(1)).Scan(&peers); err != nil || peers != 1 {
		t.Errorf("peer written before the migration: %d rows, %v", peers, err)
	}
	_ = db.Close()

	baks, _ := filepath.Glob(p + ".bak-v1-*")
	if len(baks) != 1 {
		t.Fatalf("backups before migrating: %v, want one", baks)
	}
	b, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: baks[0], ReadOnly: true, DisableWatch: true})
	if err != nil {
		t.Fatalf("open the pre-migration backup: %v", err)
	}
	if _, ok := resolves(b, fp(1)); !ok {
		t.Errorf("pre-migration backup lost the peer")
	}
	_ = b.Close()
	return v
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
