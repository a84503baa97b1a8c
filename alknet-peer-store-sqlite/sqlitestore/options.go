package sqlitestore

import (
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Defaults applied to zero Options fields.
const (
	DefaultBusyTimeout  = 5 * time.Second
	DefaultPollInterval = 50 * time.Millisecond
	DefaultMaxStale     = 5 * time.Minute
	// MinPollInterval is the smallest accepted non-zero PollInterval.
	MinPollInterval = time.Millisecond
)

// writerBusySlice is SQLite's own busy timeout on the writer pool; longer lock waits run in Go
// so that they honour the context (PSTORE-R75).
const writerBusySlice = 20 * time.Millisecond

// Options configures [Open]. The zero value of every field except Path means the documented
// default. Open never modifies the caller's copy.
type Options struct {
	// Path is the SQLite file. Required; made absolute once, and every message names that path.
	Path string
	// Create creates the file (mode 0600, parent directory 0700) and the schema when missing.
	// Without it a missing file is STORE_NOT_INITIALIZED.
	Create bool
	// ReadOnly opens query-only connections: no migrations, every write method returns
	// STORE_READ_ONLY. Cannot be combined with Create.
	ReadOnly bool
	// AutoMigrate applies pending migrations, after an automatic backup. Without it an
	// outdated store is STORE_SCHEMA_OUTDATED.
	AutoMigrate bool
	// BusyTimeout bounds how long a write waits for the write lock. If zero, 5s.
	BusyTimeout time.Duration
	// PollInterval is the change-detection period of the watcher. If zero, 50ms; minimum 1ms.
	PollInterval time.Duration
	// DisableWatch starts no watcher goroutine (one-shot tools); writes still reload.
	DisableWatch bool
	// MaxStale is how long reloads may fail before resolution is denied (fail closed,
	// PSTORE-R36). If zero, 5m; negative never fails closed.
	MaxStale time.Duration
	// Actor is written to audit rows, e.g. "cli:alice@host". If empty, "unknown".
	Actor string
	// Clock gives the time for API-key expiry, timestamps and MaxStale. If nil, time.Now.
	Clock func() time.Time
	// Rand is the randomness for peer tokens and API keys. If nil, crypto/rand.Reader.
	Rand io.Reader
	// Logger receives open, migration, reload and failure events. If nil, nothing is logged.
	Logger *slog.Logger

	// extraMigrations are appended to the embedded ones (tests only, PSTORE-R80).
	extraMigrations []migration
	// migrationHook, when set, is called inside each migration's transaction after its SQL ran
	// ("applied") and after that transaction committed ("committed"); the crash test uses it to
	// kill a helper at a known point of a migration (tests only, PSTORE-R80, PSTORE-T28).
	migrationHook func(version int, stage string)
}

// normalize validates o and returns a copy with defaults applied (PSTORE-R67).
func (o Options) normalize() (Options, error) {
	if o.Path == "" {
		return o, invalid("peer store: empty path")
	}
	if o.Create && o.ReadOnly {
		return o, invalid("peer store " + o.Path + ": Create and ReadOnly cannot be combined")
	}
	if o.PollInterval != 0 && o.PollInterval < MinPollInterval {
		return o, invalid("peer store " + o.Path + ": poll interval below 1ms")
	}
	if o.BusyTimeout < 0 {
		return o, invalid("peer store " + o.Path + ": negative busy timeout")
	}
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return o, coreErr(alkerr.CodeStoreInvalid, "peer store "+o.Path+": cannot make the path absolute", err)
	}
	o.Path = abs
	if o.BusyTimeout == 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MaxStale == 0 {
		o.MaxStale = DefaultMaxStale
	}
	if o.Actor == "" {
		o.Actor = "unknown"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With(slog.String("component", "store"))
	o.extraMigrations = append([]migration(nil), o.extraMigrations...)
	return o, nil
}

func invalid(msg string) error {
	return &alkerr.Error{Code: alkerr.CodeStoreInvalid, Message: msg}
}
