package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"
)

// poolKind selects the per-connection settings of a pool (PSTORE-R18, R19).
type poolKind int

const (
	poolReader poolKind = iota // query-only, deferred transactions
	poolWriter                 // BEGIN IMMEDIATE, short SQLite busy timeout
	poolBackup                 // VACUUM INTO; not query-only (SQLite refuses it there)
)

// dsn builds the file: URI for abs (PSTORE-R17). url.URL percent-encodes the path, so spaces,
// '?', '#' and '%' in the path name the file they should.
func dsn(abs string, kind poolKind, busy time.Duration) string {
	q := url.Values{}
	q.Set("mode", "rw")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Set("_secure_delete", "1")
	switch kind {
	case poolReader:
		q.Set("_query_only", "1")
		q.Set("_txlock", "deferred")
		q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	case poolWriter:
		q.Set("_txlock", "immediate")
		q.Set("_busy_timeout", strconv.FormatInt(writerBusySlice.Milliseconds(), 10))
	case poolBackup:
		q.Set("_txlock", "deferred")
		q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	}
	return (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
}

// connector opens mattn connections with a ConnectHook without registering a driver name
// process-wide (PSTORE-R76).
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func newConnector(dsn string) *connector {
	return &connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA journal_size_limit = 4194304", nil)
		return err
	}}}
}

// Connect implements driver.Connector.
func (c *connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return c.drv }

// openPool opens a pool of at most n connections that are kept open between uses.
func openPool(abs string, kind poolKind, busy time.Duration, n int) *sql.DB {
	db := sql.OpenDB(newConnector(dsn(abs, kind, busy)))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db
}
