package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/store"
)

// applicationID marks a SQLite file as an alknet store ("alkn", §4.2).
const applicationID = 1634495342

// Open opens (and with Options.Create, creates) the store at opts.Path, migrates it when
// allowed, loads its snapshots and starts the change watcher (section 5.3 of the spec). A failed
// Open leaves no goroutine and no connection, and nothing is written to a file that is foreign,
// corrupt or too new. Errors: STORE_INVALID (options), STORE_NOT_INITIALIZED, STORE_UNAVAILABLE,
// STORE_CORRUPT, STORE_FOREIGN, STORE_BUSY, STORE_SCHEMA_TOO_NEW, STORE_SCHEMA_OUTDATED,
// STORE_READ_ONLY, STORE_BACKEND.
func Open(ctx context.Context, opts Options) (*Store, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	migs, err := loadMigrations(o.extraMigrations)
	if err != nil {
		return nil, err
	}
	empty, err := auth.Compile(auth.AuthPolicy{})
	if err != nil {
		return nil, coreErr(alkerr.CodeStoreBackend, "compile the empty policy", err)
	}
	s := &Store{
		opts: o, path: o.Path, log: o.Logger, migrations: migs, known: migs[len(migs)-1].version,
		emptyPolicy: empty, changed: make(chan struct{}), subs: map[*subscription]struct{}{},
	}
	s.ident.Store(&identitySnapshot{peersGen: -1, keysGen: -1, policy: empty})
	s.creds.Store(&credentialSnapshot{gen: -1, byProvider: map[string]store.EncryptedData{}})
	s.state.Store(&healthState{})
	s.identities = &Identities{s: s}
	s.apiKeys = &APIKeys{s: s}
	s.credentials = &Credentials{s: s}
	if err := s.open(ctx); err != nil {
		s.closePools()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	// Step 1: the file (PSTORE-R21).
	if err := s.prepareFile(); err != nil {
		return err
	}
	// Step 2: owner (PSTORE-R22).
	if err := checkOwner(s.path); err != nil {
		return err
	}
	// Step 3: identify through the query-only pool.
	s.reader = openPool(s.path, poolReader, s.opts.BusyTimeout, 4)
	version, err := s.identify(ctx)
	if err != nil {
		return err
	}
	// Step 5 (version part).
	switch {
	case version > s.known:
		return newErr(CodeSchemaTooNew, s.msgf("peer store schema version %d is newer than this binary understands (%d); upgrade alknet", version, s.known), nil)
	case version == 0 && !s.opts.Create:
		return newErr(CodeNotInitialized, s.msgf("peer store is not initialised; create it first"), nil)
	case version > 0 && version < s.known && (s.opts.ReadOnly || !s.opts.AutoMigrate):
		return newErr(CodeSchemaOutdated, s.msgf("peer store schema version %d is older than %d; run the node (it migrates with a backup)", version, s.known), nil)
	}
	s.schemaVersion = version
	// Step 6: writer, WAL, migrations.
	if !s.opts.ReadOnly {
		s.writer = openPool(s.path, poolWriter, s.opts.BusyTimeout, 1)
		if err := s.switchToWAL(ctx); err != nil {
			return err
		}
		if version < s.known {
			if err := s.migrate(ctx); err != nil {
				return err
			}
		}
		s.schemaVersion = s.known
	}
	// Step 7: full load (pinning the watcher's connection first so no commit is missed).
	var wconn *sql.Conn
	var dv int64
	if !s.opts.DisableWatch {
		wconn, err = s.reader.Conn(ctx)
		if err != nil {
			return s.mapErr(ctx, "open the watcher connection", err)
		}
		if err := wconn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv); err != nil {
			_ = wconn.Close()
			return s.mapErr(ctx, "read data_version", err)
		}
	}
	s.reloadMu.Lock()
	_, err = s.reloadLocked(ctx, true)
	s.noteResultLocked(nil, false)
	s.reloadMu.Unlock()
	if err != nil {
		if wconn != nil {
			_ = wconn.Close()
		}
		return err
	}
	// Step 8: file identity and watcher.
	fi, err := os.Stat(s.path)
	if err != nil {
		if wconn != nil {
			_ = wconn.Close()
		}
		return newErr(CodeUnavailable, s.msgf("stat peer store"), err)
	}
	s.fileInfo = fi
	if in, err := s.Info(ctx); err == nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "peer store open", slog.String("path", s.path),
			slog.Int("schema_version", in.SchemaVersion), slog.String("store_id", in.StoreID),
			slog.Int("peers", in.Peers), slog.Int("api_keys", in.APIKeys), slog.Int("credentials", in.Credentials),
			slog.Bool("read_only", s.opts.ReadOnly), slog.Bool("healthy", s.state.Load().dropped == nil))
	}
	if wconn != nil {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopWatch = cancel
		s.watchConn = wconn
		s.watchDone = make(chan struct{})
		go s.watch(wctx, wconn, dv)
	}
	return nil
}

// prepareFile implements step 1 (PSTORE-R21).
func (s *Store) prepareFile() error {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !s.opts.Create {
			return newErr(CodeNotInitialized, s.msgf("peer store does not exist; create it first"), nil)
		}
		if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
			return s.fsErr("create the peer store directory", err)
		}
		f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return s.fsErr("create the peer store file", err)
		}
		if err == nil {
			if err := f.Close(); err != nil {
				return s.fsErr("create the peer store file", err)
			}
		}
		return nil
	case err != nil:
		return s.fsErr("stat the peer store", err)
	case fi.IsDir():
		return newErr(CodeUnavailable, s.msgf("peer store path is a directory"), nil)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		s.log.LogAttrs(context.Background(), slog.LevelWarn, "peer store file is accessible to group or others",
			slog.String("path", s.path), slog.String("mode", fi.Mode().Perm().String()))
	}
	if fi.Size() == 0 && !s.opts.Create {
		return newErr(CodeNotInitialized, s.msgf("peer store is an empty file; create it first"), nil)
	}
	return nil
}

// fsErr maps a file-system error of Open.
func (s *Store) fsErr(what string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return newErr(CodeUnavailable, s.msgf("%s: permission denied", what), err)
	case isReadOnlyFS(err):
		return newErr(CodeReadOnly, s.msgf("%s: read-only file system", what), err)
	}
	return newErr(CodeUnavailable, s.msgf("%s", what), err)
}

// identify implements steps 3–5: application id, foreign tables, quick_check and the version.
func (s *Store) identify(ctx context.Context) (int, error) {
	conn, err := s.reader.Conn(ctx)
	if err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	defer conn.Close()
	var appID, tables int
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	if appID == 0 && tables == 0 {
		return 0, nil
	}
	if appID != applicationID {
		return 0, newErr(CodeForeign, s.msgf("not an alknet peer store (another application's SQLite file)"), nil)
	}
	var check string
	rows, err := conn.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	if rows.Next() {
		err = rows.Scan(&check)
	}
	_ = rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	if check != "ok" {
		return 0, newErr(CodeCorrupt, s.msgf("peer store failed its integrity check: %s", check), nil)
	}
	var has int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&has); err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	if has == 0 {
		return 0, newErr(CodeForeign, s.msgf("alknet application id but no schema_migrations table"), nil)
	}
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, s.identifyErr(ctx, err)
	}
	return int(v.Int64), nil
}

func (s *Store) identifyErr(ctx context.Context, err error) error {
	e := s.mapErr(ctx, "identify peer store", err)
	switch alkerr.CodeOf(e) {
	case CodeCorrupt:
		if strings.Contains(err.Error(), "not a database") {
			return newErr(CodeCorrupt, s.msgf("not a SQLite database"), err)
		}
	case CodeUnavailable, CodeReadOnly:
		// SQLite's own errno is often that of a side file (-shm, -wal) and says little; name
		// the real reason, which is about the directory (SQLite creates -wal and -shm beside
		// the file) or the file itself (spec §12: read-only file system / permission denied).
		for _, p := range []string{filepath.Dir(s.path), s.path} {
			switch en := writeAccessErrno(p); en {
			case syscall.EROFS:
				return newErr(CodeReadOnly, s.msgf("the peer store is on a read-only file system"), errors.Join(en, err))
			case syscall.EACCES, syscall.EPERM:
				return newErr(CodeUnavailable, s.msgf("permission denied: %s is not writable by this user (SQLite creates -wal and -shm beside the store)", p), errors.Join(en, err))
			}
		}
	}
	return e
}

// switchToWAL puts an identified store into WAL mode once per Open (PSTORE-R78).
func (s *Store) switchToWAL(ctx context.Context) error {
	var mode string
	err := s.retryBusy(ctx, "switch the peer store to WAL", func() error {
		return s.writer.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
	})
	if err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return coreErr(alkerr.CodeStoreBackend, s.msgf("peer store could not switch to WAL (journal mode %q)", mode), nil)
	}
	return nil
}
