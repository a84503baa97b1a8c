package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// userErr carries an error from a caller's callback through the transaction helper unchanged.
type userErr struct{ err error }

func (e userErr) Error() string { return e.err.Error() }

// retryBusy runs fn until it stops failing with SQLITE_BUSY, waiting in Go with a capped
// exponential backoff (1ms doubling to 20ms) that honours ctx, for at most BusyTimeout in total
// (PSTORE-R75). SQLite's own busy handler ignores the context, so it only gets short slices.
func (s *Store) retryBusy(ctx context.Context, what string, fn func() error) error {
	start := time.Now()
	backoff := time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		}
		if !isBusy(err) {
			return s.mapErr(ctx, what, err)
		}
		waited := time.Since(start)
		if waited >= s.opts.BusyTimeout {
			s.log.LogAttrs(ctx, slog.LevelWarn, "peer store busy timeout", slog.String("op", what),
				slog.Duration("waited", waited))
			return newErr(CodeBusy, s.msgf("%s: the store is locked by another writer (waited %s)", what, waited.Round(time.Millisecond)), err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-t.C:
		}
		backoff = min(backoff*2, writerBusySlice)
	}
}

// inWriteTx runs fn in one BEGIN IMMEDIATE transaction on the writer connection (PSTORE-R20,
// R37). The schema version is re-checked inside the transaction so a store migrated by another
// process past what this one understands is never written (PSTORE-R28). fn's coded errors and
// userErr values come back unchanged; SQLite errors are mapped (PSTORE-R61).
func (s *Store) inWriteTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	if err := s.writable(); err != nil {
		return err
	}
	var tx *sql.Tx
	err := s.retryBusy(ctx, what, func() error {
		var err error
		tx, err = s.writer.BeginTx(ctx, nil)
		return err
	})
	if err != nil {
		return err
	}
	// The watcher checks the file identity only every second, and a one-shot process has no
	// watcher: check it again under the write lock, so a commit never lands in a file that
	// was replaced or removed and is then reported as done (PSTORE-R44).
	if err := s.checkFile(ctx); err != nil {
		_ = tx.Rollback()
		s.reloadMu.Lock()
		s.noteResultLocked(err, true)
		s.reloadMu.Unlock()
		return err
	}
	if err := s.checkSchemaTx(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		if ue, ok := err.(userErr); ok {
			return ue.err
		}
		return s.mapErr(ctx, what, err)
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(ctx, what, err)
	}
	return nil
}

// checkSchemaTx refuses to write a store whose schema version is not the one this store opened.
func (s *Store) checkSchemaTx(ctx context.Context, tx *sql.Tx) error {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return err
	}
	return s.schemaProblem(int(v.Int64))
}

// schemaProblem reports a schema version this running store must not read or write (PSTORE-R28).
func (s *Store) schemaProblem(v int) error {
	switch {
	case v > s.known:
		return newErr(CodeSchemaTooNew, s.msgf("peer store was migrated to schema version %d by a newer alknet; upgrade and restart", v), nil)
	case v < s.schemaVersion:
		return newErr(CodeSchemaOutdated, s.msgf("peer store schema version dropped to %d (restored from an older backup?); restart to migrate", v), nil)
	}
	return nil
}

// afterWrite makes the writing process see its own commit before the write method returns
// (read-your-writes, PSTORE-R39, R47). A failed reload is logged and reported through Health;
// the write itself succeeded.
func (s *Store) afterWrite(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	_, err := s.reloadLocked(ctx, false)
	s.noteResultLocked(err, true)
}

// audit appends one audit row in tx (PSTORE-R14, R85). detail holds non-secret facts only.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, action, entity string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, entity, detail) VALUES (?, ?, ?, ?, ?)`,
		s.ms(s.now()), s.opts.Actor, action, entity, string(b))
	return err
}
