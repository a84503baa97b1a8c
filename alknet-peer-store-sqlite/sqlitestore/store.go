package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/store"
)

// Store is one open alknet peer store file. Its three views, [Store.Identities],
// [Store.APIKeys] and [Store.Credentials], share its connection pools, watcher and snapshots.
// A Store is safe for concurrent use. Close it when done.
type Store struct {
	opts       Options
	path       string
	log        *slog.Logger
	migrations []migration
	known      int // highest migration version this binary knows

	reader *sql.DB // query-only pool (PSTORE-R19)
	writer *sql.DB // one connection; nil for a ReadOnly store

	schemaVersion int         // version found or reached by Open
	fileInfo      os.FileInfo // identity of the opened file (PSTORE-R44)
	emptyPolicy   *auth.Policy

	ident atomic.Pointer[identitySnapshot]
	creds atomic.Pointer[credentialSnapshot]
	state atomic.Pointer[healthState] // written under reloadMu
	// fileErr is the last file-identity problem (nil when the path still names the file).
	fileErr atomic.Pointer[errBox]
	closed  atomic.Bool
	polls   atomic.Uint64
	reloads atomic.Uint64

	reloadMu    sync.Mutex // serialises reloads, health transitions and publication
	lastFailLog time.Time  // guarded by reloadMu
	dropIdent   []string   // guarded by reloadMu; rows dropped by the last identity load
	dropCreds   []string   // guarded by reloadMu; rows dropped by the last credential load

	notifyMu sync.Mutex
	changed  chan struct{}              // guarded by notifyMu; closed and replaced on identity changes
	subs     map[*subscription]struct{} // guarded by notifyMu
	subsDone bool                       // guarded by notifyMu; set by Close

	watchConn *sql.Conn // the watcher's pinned connection; owned by the watcher goroutine
	stopWatch context.CancelFunc
	watchDone chan struct{} // closed by the watcher goroutine when it exits; nil without a watcher
	closeOnce sync.Once

	identities  *Identities
	apiKeys     *APIKeys
	credentials *Credentials
}

type errBox struct{ err error }

// healthState is the published result of the last round (PSTORE-R36, R77).
type healthState struct {
	lastErr      error
	dropped      error
	failingSince time.Time
	failClosed   bool
	lastReload   time.Time
}

// identitySnapshot is the immutable identity index served by resolution.
type identitySnapshot struct {
	peersGen, keysGen int64 // -1 forces the next reload
	policy            *auth.Policy
}

// credentialSnapshot is the immutable credential index served by Credentials.Get.
type credentialSnapshot struct {
	gen        int64 // -1 forces the next reload
	byProvider map[string]store.EncryptedData
	failed     bool // fail-closed marker: Get returns STORE_BACKEND
}

// Identities returns the identity view: an auth.IdentityStore and auth.ChangeNotifier.
func (s *Store) Identities() *Identities { return s.identities }

// APIKeys returns the API-key management view.
func (s *Store) APIKeys() *APIKeys { return s.apiKeys }

// Credentials returns the credential view: a store.CredentialStore and store.CredentialLister.
func (s *Store) Credentials() *Credentials { return s.credentials }

// Health returns nil when the last watcher round, reload or Refresh succeeded and no stored row
// was dropped by load-time validation; otherwise the current problem as a coded error
// (PSTORE-R77). It never does I/O.
func (s *Store) Health() error {
	if s.closed.Load() {
		return ErrClosed
	}
	st := s.state.Load()
	if st.lastErr != nil {
		return st.lastErr
	}
	return st.dropped
}

// Stats describes the change feed and the health of the store.
type Stats struct {
	Generations  map[Channel]int64 // generation now served per channel; -1 while failed closed
	Reloads      uint64            // snapshot rebuilds since Open
	Polls        uint64            // watcher polls since Open
	LastReload   time.Time         // Clock() at the last rebuild
	LastError    error             // nil when healthy; same value as Health()
	FailingSince time.Time         // zero when healthy; start of the current run of failures
	FailClosed   bool              // true while resolution is denied because of MaxStale
}

// Stats returns a snapshot of the store's counters and health. It never does I/O.
func (s *Store) Stats() Stats {
	st := s.state.Load()
	id, cr := s.ident.Load(), s.creds.Load()
	return Stats{
		Generations: map[Channel]int64{
			ChannelPeers: id.peersGen, ChannelAPIKeys: id.keysGen, ChannelCredentials: cr.gen,
		},
		Reloads:      s.reloads.Load(),
		Polls:        s.polls.Load(),
		LastReload:   st.lastReload,
		LastError:    s.Health(),
		FailingSince: st.failingSince,
		FailClosed:   st.failClosed,
	}
}

// Close stops the watcher and waits for it, closes every subscription channel, and closes the
// connection pools after a best-effort passive WAL checkpoint (PSTORE-R55). It is idempotent.
// After Close, resolution answers not-recognized and every other method returns STORE_CLOSED.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stopWatch != nil {
			s.stopWatch()
		}
		if s.watchDone != nil {
			<-s.watchDone
		}
		s.reloadMu.Lock()
		s.ident.Store(&identitySnapshot{peersGen: -1, keysGen: -1, policy: s.emptyPolicy})
		s.creds.Store(&credentialSnapshot{gen: -1, failed: true})
		s.reloadMu.Unlock()
		s.notifyMu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		for sub := range s.subs {
			close(sub.ch)
		}
		s.subs = nil
		s.subsDone = true
		s.notifyMu.Unlock()
		if s.writer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _ = s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
			err = errors.Join(err, s.writer.Close())
		}
		err = errors.Join(err, s.reader.Close())
		if err != nil {
			err = coreErr(alkerr.CodeStoreBackend, "close peer store "+s.path, err)
		}
	})
	return err
}

// closePools releases whatever a failed Open had opened.
func (s *Store) closePools() {
	if s.writer != nil {
		_ = s.writer.Close()
	}
	if s.reader != nil {
		_ = s.reader.Close()
	}
}

// usable returns STORE_CLOSED after Close.
func (s *Store) usable() error {
	if s.closed.Load() {
		return newErr(CodeClosed, "peer store "+s.path+" is closed", nil)
	}
	return nil
}

// writable returns the reason writes are refused, or nil.
func (s *Store) writable() error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.writer == nil {
		return newErr(CodeReadOnly, "peer store "+s.path+" was opened read-only", nil)
	}
	if b := s.fileErr.Load(); b != nil && b.err != nil {
		return b.err
	}
	return nil
}

func (s *Store) ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func (s *Store) now() time.Time { return s.opts.Clock() }

// msgf formats a message that names the store file.
func (s *Store) msgf(format string, args ...any) string {
	return fmt.Sprintf(format, args...) + " (" + s.path + ")"
}
