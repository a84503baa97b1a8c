package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/mattn/go-sqlite3"
)

// mapErr turns an error from SQLite into a coded store error (PSTORE-R61). what names the
// operation and entity for the message (never a secret). A context that has ended wins over
// the SQLite error (PSTORE-R54), and errors that already carry a code pass through.
func (s *Store) mapErr(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if ctx != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if hasCode(err) {
		return err
	}
	msg := what + " (" + s.path + ")"
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return coreErr(alkerr.CodeStoreBackend, msg, err)
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return newErr(CodeBusy, msg+": store is busy", err)
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return newErr(CodeCorrupt, msg+": store file is corrupt or not a SQLite database", err)
	case sqlite3.ErrConstraint:
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return newErr(CodeConflict, msg+": already exists", err)
		}
		s.log.LogAttrs(context.Background(), slog.LevelError, "validation gap: constraint failed in SQLite",
			slog.String("op", what), slog.String("err", se.Error()))
		return coreErr(alkerr.CodeStoreInvalid, msg+": constraint failed", err)
	case sqlite3.ErrReadonly:
		return newErr(CodeReadOnly, msg+": store is read-only", err)
	case sqlite3.ErrCantOpen, sqlite3.ErrPerm, sqlite3.ErrAuth:
		return newErr(CodeUnavailable, msg+": cannot open the store file", err)
	case sqlite3.ErrFull:
		return coreErr(alkerr.CodeStoreBackend, msg+": disk full", err)
	case sqlite3.ErrInterrupt:
		return fmt.Errorf("%s: %w", what, context.Canceled)
	}
	return coreErr(alkerr.CodeStoreBackend, msg, err)
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// hasCode reports whether err already carries a stable code.
func hasCode(err error) bool {
	var c interface{ ErrorCode() string }
	return errors.As(err, &c)
}
