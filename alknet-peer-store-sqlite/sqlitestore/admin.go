package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Info describes the store file for `alknet store info`.
type Info struct {
	Path                                                                   string    // absolute path of the store file
	StoreID                                                                string    // set once at creation (PSTORE-R16)
	CreatedAt                                                              time.Time // UTC
	SchemaVersion                                                          int       // MAX(version) of schema_migrations
	CredentialKeyVersion                                                   uint32    // PSTORE-R15
	Peers, Fingerprints, APIKeys, RevokedAPIKeys, Credentials, AuditEvents int       // row counts
	FileSize, WALSize                                                      int64     // bytes; WALSize 0 when no -wal file exists
}

// Info reads the store's metadata and counts in one read transaction. It works on a ReadOnly
// store.
func (s *Store) Info(ctx context.Context) (Info, error) {
	if err := s.usable(); err != nil {
		return Info{}, err
	}
	in := Info{Path: s.path}
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return Info{}, s.mapErr(ctx, "read store info", err)
	}
	defer func() { _ = tx.Rollback() }()
	var created string
	var v sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT value FROM store_meta WHERE key = 'store_id'),
		(SELECT value FROM store_meta WHERE key = 'created_at'),
		(SELECT MAX(version) FROM schema_migrations),
		(SELECT count(*) FROM peers), (SELECT count(*) FROM peer_fingerprints),
		(SELECT count(*) FROM api_keys WHERE revoked_at IS NULL), (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL),
		(SELECT count(*) FROM credentials), (SELECT count(*) FROM audit_events)`).Scan(
		&in.StoreID, &created, &v, &in.Peers, &in.Fingerprints, &in.APIKeys, &in.RevokedAPIKeys, &in.Credentials, &in.AuditEvents)
	if err != nil {
		return Info{}, s.mapErr(ctx, "read store info", err)
	}
	in.SchemaVersion = int(v.Int64)
	if ms, err := strconv.ParseInt(created, 10, 64); err == nil {
		in.CreatedAt = fromMS(ms)
	}
	if in.CredentialKeyVersion, err = keyVersion(ctx, tx); err != nil {
		return Info{}, s.mapErr(ctx, "read store info", err)
	}
	if fi, err := os.Stat(s.path); err == nil {
		in.FileSize = fi.Size()
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		in.WALSize = fi.Size()
	}
	return in, nil
}

// Check runs PRAGMA quick_check (integrity_check when full) and PRAGMA foreign_key_check on a
// reader connection (PSTORE-R86). It returns nil when both are clean, otherwise STORE_CORRUPT
// naming the file and the first problem. It repairs nothing and works on a ReadOnly store.
func (s *Store) Check(ctx context.Context, full bool) error {
	if err := s.usable(); err != nil {
		return err
	}
	pragma := "PRAGMA quick_check"
	if full {
		pragma = "PRAGMA integrity_check"
	}
	var first string
	if err := s.reader.QueryRowContext(ctx, pragma).Scan(&first); err != nil {
		return s.mapErr(ctx, "check peer store", err)
	}
	if first != "ok" {
		return newErr(CodeCorrupt, s.msgf("peer store failed %s: %s", pragma[7:], first), nil)
	}
	rows, err := s.reader.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return s.mapErr(ctx, "check peer store", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	var order []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return s.mapErr(ctx, "check peer store", err)
		}
		if counts[table] == 0 {
			order = append(order, table)
		}
		counts[table]++
	}
	if err := rows.Err(); err != nil {
		return s.mapErr(ctx, "check peer store", err)
	}
	if len(order) > 0 {
		return newErr(CodeCorrupt, s.msgf("peer store has %d row(s) in %s whose foreign key points nowhere", counts[order[0]], order[0]), nil)
	}
	return nil
}

// Backup writes a consistent online copy of the store to dest (PSTORE-R59) while other
// processes keep reading and writing. dest must not exist (STORE_CONFLICT); the copy is created
// with mode 0600, fsynced, and removed on any failure, including ctx ending. The copy is in
// rollback-journal mode and keeps the application id and store id.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if err := s.usable(); err != nil {
		return err
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return coreErr(alkerr.CodeStoreInvalid, "backup target "+dest+": cannot make the path absolute", err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return newErr(CodeConflict, "backup target "+abs+" already exists", nil)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return s.fsErr(fmt.Sprintf("stat backup target %s", abs), err)
	}
	return s.vacuumInto(ctx, abs)
}
