package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one forward-only schema step (PSTORE-R24).
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations parses the embedded files (NNNN_name.sql) and appends extra (tests only,
// PSTORE-R80). The result is a value owned by the Store, not package state.
func loadMigrations(extra []migration) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, coreErr(alkerr.CodeStoreBackend, "read embedded migrations", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, coreErr(alkerr.CodeStoreBackend, "malformed migration file name "+name, err)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, coreErr(alkerr.CodeStoreBackend, "read migration "+name, err)
		}
		out = append(out, migration{version: v, name: rest, sql: string(b)})
	}
	out = append(out, extra...)
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, coreErr(alkerr.CodeStoreBackend, fmt.Sprintf("migrations are not numbered 1..n (found %d at position %d)", m.version, i+1), nil)
		}
	}
	return out, nil
}

// binaryVersion is recorded in schema_migrations.applied_by.
func binaryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// errAlreadyApplied ends a migration transaction that found the work done by another process.
var errAlreadyApplied = errors.New("migration already applied")

// migrate applies every pending migration, each in its own BEGIN IMMEDIATE transaction with its
// schema_migrations row, re-reading the version inside the transaction so two processes migrate
// once (PSTORE-R25). Before the first migration of a store that holds data it takes one backup
// while holding the write lock (PSTORE-R26).
func (s *Store) migrate(ctx context.Context) error {
	backedUp := false
	for _, m := range s.migrations {
		err := s.inMigrationTx(ctx, func(tx *sql.Tx) error {
			cur, err := versionTx(ctx, tx)
			if err != nil {
				return err
			}
			if cur >= m.version {
				return errAlreadyApplied
			}
			if cur != m.version-1 {
				return coreErr(alkerr.CodeStoreBackend, s.msgf("peer store at schema version %d cannot take migration %d", cur, m.version), nil)
			}
			if cur >= 1 && !backedUp {
				dest, err := s.backupBeforeMigration(ctx, cur)
				if err != nil {
					if !hasCode(err) {
						return err // the context ended: not coded (PSTORE-R54)
					}
					// A failed backup aborts the migration as STORE_BACKEND, whatever stopped
					// the copy (PSTORE-R26); the cause keeps the specific code.
					return coreErr(alkerr.CodeStoreBackend, fmt.Sprintf("migration from schema version %d aborted: the backup failed: %s", cur, errMessage(err)), err)
				}
				backedUp = true
				s.log.LogAttrs(ctx, slog.LevelInfo, "peer store backed up before migration",
					slog.String("path", s.path), slog.String("backup", dest), slog.Int("from", cur))
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "migration start", slog.String("path", s.path),
				slog.Int("from", cur), slog.Int("to", m.version), slog.String("name", m.name))
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if s.opts.migrationHook != nil {
				s.opts.migrationHook(m.version, "applied")
			}
			now := s.ms(s.now())
			if m.version == 1 {
				id := make([]byte, 16)
				if _, err := rand.Read(id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES
					('store_id', ?), ('created_at', ?), ('credential_key_version', '2')`,
					hex.EncodeToString(id), strconv.FormatInt(now, 10)); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at, applied_by) VALUES (?, ?, ?, ?)`,
				m.version, m.name, now, binaryVersion())
			return err
		})
		if errors.Is(err, errAlreadyApplied) {
			continue
		}
		if err != nil {
			return err
		}
		if s.opts.migrationHook != nil {
			s.opts.migrationHook(m.version, "committed")
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "migration done", slog.String("path", s.path), slog.Int("version", m.version))
	}
	return nil
}

// inMigrationTx is inWriteTx without the schema check (the schema is what changes).
func (s *Store) inMigrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var tx *sql.Tx
	err := s.retryBusy(ctx, "migrate peer store", func() error {
		var err error
		tx, err = s.writer.BeginTx(ctx, nil)
		return err
	})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errAlreadyApplied) {
			return err
		}
		return s.mapErr(ctx, "migrate peer store", err)
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(ctx, "migrate peer store", err)
	}
	return nil
}

// versionTx reads MAX(version), 0 for a file without schema_migrations.
func versionTx(ctx context.Context, tx *sql.Tx) (int, error) {
	var has int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&has); err != nil {
		return 0, err
	}
	if has == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// backupBeforeMigration writes <path>.bak-v<old>-<UTC timestamp> (with -1, -2… when taken).
func (s *Store) backupBeforeMigration(ctx context.Context, old int) (string, error) {
	base := fmt.Sprintf("%s.bak-v%d-%s", s.path, old, s.now().UTC().Format("20060102T150405Z"))
	dest := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dest = fmt.Sprintf("%s-%d", base, i)
	}
	if err := s.vacuumInto(ctx, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// vacuumInto writes a consistent, compacted copy of the store to dest, an absolute path that
// must not exist; the file is created 0600, filled by VACUUM INTO on a dedicated connection,
// and fsynced; any failure removes it (PSTORE-R26, R59).
func (s *Store) vacuumInto(ctx context.Context, dest string) (err error) {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return newErr(CodeConflict, "backup target "+dest+" already exists", nil)
		}
		return s.fsErr("create backup "+dest, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(dest)
		return s.fsErr("create backup "+dest, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(dest)
		}
	}()
	db := openPool(s.path, poolBackup, s.opts.BusyTimeout, 1)
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return s.mapErr(ctx, "back up peer store to "+dest, err)
	}
	f, err = os.OpenFile(dest, os.O_RDWR, 0)
	if err != nil {
		return s.fsErr("sync backup "+dest, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return s.fsErr("sync backup "+dest, err)
	}
	if err := f.Close(); err != nil {
		return s.fsErr("sync backup "+dest, err)
	}
	return nil
}
