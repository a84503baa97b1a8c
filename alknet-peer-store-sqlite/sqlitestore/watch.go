package sqlitestore

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Channel names one of the store's change-feed channels.
type Channel string

// The change-feed channels. Each has a trigger-maintained generation counter (PSTORE-R10).
const (
	ChannelPeers       Channel = "peers"
	ChannelAPIKeys     Channel = "api_keys"
	ChannelCredentials Channel = "credentials"
)

// Change tells a subscriber which snapshots were reloaded. Subscribers read the new state
// through the normal read methods (PSTORE-R48).
type Change struct {
	Channels    []Channel         // which snapshots were reloaded
	Generations map[Channel]int64 // generation now served per channel
}

// Safety-net periods of the watcher (PSTORE-R44).
const (
	fullCheckEvery = 30 * time.Second
	fileCheckEvery = time.Second
	failLogEvery   = 10 * time.Second
)

// watch is the watcher goroutine: it owns conn, exits when ctx ends, and closes s.watchDone.
// Every PollInterval it reads PRAGMA data_version on its pinned connection; when the value moved
// (or 30s passed, or the store is failing) it runs a round (PSTORE-R43, R44, R36).
func (s *Store) watch(ctx context.Context, conn *sql.Conn, last int64) {
	defer close(s.watchDone)
	defer conn.Close()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	lastFull, lastFile := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.polls.Add(1)
		if time.Since(lastFile) >= fileCheckEvery {
			lastFile = time.Now()
			s.checkFile(ctx)
		}
		var dv int64
		err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv)
		if ctx.Err() != nil {
			return
		}
		need := err != nil || dv != last || time.Since(lastFull) >= fullCheckEvery ||
			s.state.Load().lastErr != nil || s.fileErr.Load() != nil
		if !need {
			continue
		}
		if err != nil {
			err = s.mapErr(ctx, "poll peer store", err)
		} else {
			last = dv
			lastFull = time.Now()
		}
		s.round(ctx, err)
	}
}

// round reloads what changed and records the result; pollErr is a failed poll.
func (s *Store) round(ctx context.Context, pollErr error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := pollErr
	if b := s.fileErr.Load(); err == nil && b != nil {
		err = b.err
	}
	if err == nil {
		_, err = s.reloadLocked(ctx, false)
	}
	if ctx.Err() != nil {
		return
	}
	s.noteResultLocked(err, false)
}

// checkFile compares the file at the path with the one opened (PSTORE-R44) and returns the
// problem, or nil. The store never reopens the path: a missing or different file makes writes
// fail with STORE_UNAVAILABLE and counts as a failure until the same file is back.
func (s *Store) checkFile(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	if err == nil && os.SameFile(fi, s.fileInfo) {
		if s.fileErr.Swap(nil) != nil {
			s.log.LogAttrs(ctx, slog.LevelInfo, "peer store file is back at its path", slog.String("path", s.path))
		}
		return nil
	}
	e := newErr(CodeUnavailable, s.msgf("peer store file was replaced or removed while open; stop every process using it and follow the restore procedure"), err)
	if s.fileErr.Swap(&errBox{err: e}) == nil {
		s.log.LogAttrs(ctx, slog.LevelError, "peer store file was replaced or removed while open; stop every process using it and follow the restore procedure (online: sqlite3 .restore into the live file; offline: stop all processes, replace the file, delete -wal and -shm)",
			slog.String("path", s.path))
	}
	return e
}

// noteResultLocked records the outcome of a round, reload or Refresh and applies the
// fail-closed rule (PSTORE-R36). The caller holds reloadMu.
func (s *Store) noteResultLocked(err error, fromWrite bool) {
	now := s.now()
	st := *s.state.Load()
	if err != nil {
		if st.failingSince.IsZero() {
			st.failingSince = now
		}
		st.lastErr = err
		if time.Since(s.lastFailLog) >= failLogEvery {
			s.lastFailLog = time.Now()
			s.log.LogAttrs(context.Background(), slog.LevelError, "peer store reload failed; serving the last snapshot",
				slog.String("path", s.path), slog.String("err", errMessage(err)), slog.Bool("after_write", fromWrite))
		}
		if s.opts.MaxStale >= 0 && !st.failClosed && !now.Before(st.failingSince.Add(s.opts.MaxStale)) {
			st.failClosed = true
			s.ident.Store(&identitySnapshot{peersGen: -1, keysGen: -1, policy: s.emptyPolicy})
			s.creds.Store(&credentialSnapshot{gen: -1, failed: true})
			s.state.Store(&st)
			s.log.LogAttrs(context.Background(), slog.LevelError, "peer store failed closed: every identity is denied until the store can be read",
				slog.String("path", s.path), slog.Duration("max_stale", s.opts.MaxStale))
			s.publish([]Channel{ChannelPeers, ChannelAPIKeys, ChannelCredentials})
			return
		}
		s.state.Store(&st)
		return
	}
	wasClosed := st.failClosed
	if wasClosed && s.ident.Load().peersGen < 0 {
		// The failure cleared but nothing was reloaded yet (a round that did not need to).
		if _, rerr := s.reloadLocked(context.Background(), true); rerr != nil {
			st.lastErr = rerr
			s.state.Store(&st)
			return
		}
		st = *s.state.Load()
	}
	st.lastErr = nil
	st.failingSince = time.Time{}
	st.failClosed = false
	st.dropped = nil
	if len(s.dropIdent)+len(s.dropCreds) > 0 {
		all := append(append([]string(nil), s.dropIdent...), s.dropCreds...)
		st.dropped = coreErr(alkerr.CodeStoreSerialization, s.msgf("%d stored row(s) skipped: %s", len(all), strings.Join(all, "; ")), nil)
	}
	s.state.Store(&st)
	if wasClosed {
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "peer store readable again; resolution restored", slog.String("path", s.path))
		s.publish([]Channel{ChannelPeers, ChannelAPIKeys, ChannelCredentials})
	}
}

// Refresh forces a full reload of every channel and applies the fail-closed rule. It returns
// the reload's error (the last snapshot keeps being served until MaxStale).
func (s *Store) Refresh(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var err error
	if b := s.fileErr.Load(); b != nil {
		err = b.err
	}
	if err == nil {
		_, err = s.reloadLocked(ctx, true)
	}
	s.noteResultLocked(err, false)
	return err
}

// publish stores nothing itself: the caller has already swapped the snapshots (PSTORE-R73).
// It closes Changed() for identity channels and offers a coalesced Change to every subscriber.
func (s *Store) publish(chs []Channel) {
	id, cr := s.ident.Load(), s.creds.Load()
	gens := map[Channel]int64{ChannelPeers: id.peersGen, ChannelAPIKeys: id.keysGen, ChannelCredentials: cr.gen}
	identity := false
	for _, c := range chs {
		if c == ChannelPeers || c == ChannelAPIKeys {
			identity = true
		}
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.subsDone {
		return
	}
	if identity {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	for sub := range s.subs {
		ch := Change{Channels: append([]Channel(nil), chs...), Generations: cloneGens(gens)}
		select {
		case old := <-sub.ch:
			ch.Channels = unionChannels(old.Channels, ch.Channels)
		default:
		}
		select {
		case sub.ch <- ch:
		default:
		}
	}
}

func cloneGens(m map[Channel]int64) map[Channel]int64 {
	out := make(map[Channel]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func unionChannels(a, b []Channel) []Channel {
	seen := map[Channel]bool{}
	var out []Channel
	for _, c := range []Channel{ChannelPeers, ChannelAPIKeys, ChannelCredentials} {
		for _, x := range append(append([]Channel(nil), a...), b...) {
			if x == c && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

type subscription struct {
	ch chan Change // closed by cancel or by Store.Close, under notifyMu
}

// Subscribe returns a feed of Change values with capacity 1: publication never blocks, and a
// slow subscriber sees one merged pending Change (PSTORE-R46). cancel removes the subscription
// and closes the channel; it is idempotent and safe after Close, which closes every channel.
func (s *Store) Subscribe() (changes <-chan Change, cancel func()) {
	sub := &subscription{ch: make(chan Change, 1)}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.subsDone {
		close(sub.ch)
		return sub.ch, func() {}
	}
	s.subs[sub] = struct{}{}
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.notifyMu.Lock()
			defer s.notifyMu.Unlock()
			if _, ok := s.subs[sub]; ok {
				delete(s.subs, sub)
				close(sub.ch)
			}
		})
	}
}

// changedChan returns the channel closed at the next identity change.
func (s *Store) changedChan() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.changed
}
