package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

// AllCodes exposes the package's codes to the docs/errors.md test.
var AllCodes = allCodes

// WithMigration returns a copy of o with one injected test migration (PSTORE-R80).
func WithMigration(o Options, version int, name, sqlText string) Options {
	o.extraMigrations = append(append([]migration(nil), o.extraMigrations...), migration{version: version, name: name, sql: sqlText})
	return o
}

// WithMigrationHook returns a copy of o whose migrations call hook inside their transaction
// after their SQL ran ("applied") and after they committed ("committed") (PSTORE-T28).
func WithMigrationHook(o Options, hook func(version int, stage string)) Options {
	o.migrationHook = hook
	return o
}

// ReaderDB and WriterDB expose the pools (T1 checks pragmas on every pooled connection).
func ReaderDB(s *Store) *sql.DB { return s.reader }

// WatcherConn returns the watcher's pinned connection (safe for concurrent use, like every
// *sql.Conn); nil without a watcher.
func WatcherConn(s *Store) *sql.Conn { return s.watchConn }

// WriterDB returns the writer pool; nil for a ReadOnly store.
func WriterDB(s *Store) *sql.DB { return s.writer }

// SetMaxPageCount sets PRAGMA max_page_count on the writer connection (T38) and returns the
// resulting limit.
func SetMaxPageCount(ctx context.Context, s *Store, n int64) (int64, error) {
	var got int64
	err := s.writer.QueryRowContext(ctx, "PRAGMA max_page_count = ?", n).Scan(&got)
	if err != nil {
		// PRAGMA does not take bound parameters on every SQLite build; fall back to text.
		err = s.writer.QueryRowContext(ctx, "PRAGMA max_page_count = "+itoa(n)).Scan(&got)
	}
	return got, err
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// PeerRow mirrors peerRow for the fuzz target (PSTORE-F1).
type PeerRow struct {
	PeerID       string
	TokenHash    string
	HasToken     bool
	Scopes       string
	Resources    string
	DisplayName  string
	HasDisplay   bool
	Enabled      int64
	Fingerprints []string
}

// PeerFromRow runs the load path's row conversion and validation.
func PeerFromRow(r PeerRow) (auth.PeerEntry, error) {
	return peerFromRow(peerRow{
		PeerID:       r.PeerID,
		TokenHash:    sql.NullString{String: r.TokenHash, Valid: r.HasToken},
		Scopes:       r.Scopes,
		Resources:    r.Resources,
		DisplayName:  sql.NullString{String: r.DisplayName, Valid: r.HasDisplay},
		Enabled:      r.Enabled,
		Fingerprints: r.Fingerprints,
	})
}

// KeyFromRow runs the load path's API-key row conversion and validation (PSTORE-F1, R31).
func KeyFromRow(prefix, hash, scopes, description string, expiresAt int64, hasExpiry bool) (auth.APIKeyEntry, error) {
	return keyFromRow(keyRow{Prefix: prefix, Hash: hash, Scopes: scopes, Description: description,
		ExpiresAt: sql.NullInt64{Int64: expiresAt, Valid: hasExpiry}})
}

// DecodeScopes, DecodeResources and DecodeDetail expose the JSON column decoders (PSTORE-F2).
var (
	DecodeScopes    = decodeScopes
	DecodeResources = decodeResources
	DecodeDetail    = decodeDetail
)

// CodeOf is alkerr.CodeOf, re-exported for brevity in tests.
func CodeOf(err error) alkerr.Code { return alkerr.CodeOf(err) }
