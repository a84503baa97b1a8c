package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func integrityOK(t testing.TB, s *sqlitestore.Store) {
	t.Helper()
	if err := s.Check(t.Context(), true); err != nil {
		t.Fatalf("Check(full) = %v", err)
	}
}

// PSTORE-T23
func TestConcurrentWriterProcesses(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	const opsPerGoroutine = 15
	var kids []*child
	for i := range 3 {
		kids = append(kids, startHelper(t, "randwriter", p, strconv.Itoa(i+1), opsPerGoroutine))
	}
	total := 0
	for _, k := range kids {
		n, err := strconv.Atoi(k.next(t, "writes "))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	// Quiet now: every process reports its index after a refresh.
	if err := s.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := indexString(s.Identities().Policy().Source())
	for i, k := range kids {
		k.send(t, "report")
		if got := k.next(t, "index "); got != want {
			t.Errorf("process %d index differs:\n got %s\nwant %s", i, got, want)
		}
		if b := k.next(t, "backwards "); b != "false" {
			t.Errorf("process %d saw a generation go backwards", i)
		}
		k.wait(t)
	}
	integrityOK(t, s)
	if got := countRows(t, s, "SELECT count(*) FROM audit_events"); got != total {
		t.Errorf("audit rows = %d, successful writes = %d", got, total)
	}
}

func indexString(src auth.AuthPolicy) string {
	var ids []string
	for _, p := range src.Peers {
		ids = append(ids, p.PeerID+"="+strings.Join(p.Fingerprints, ","))
	}
	return strings.Join(ids, ";")
}

// PSTORE-T24
func TestNoLostUpdates(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, DisableWatch: true})
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, auth.PeerEntry{PeerID: "shared", Fingerprints: []string{fp(1)}, Scopes: []string{}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Identities().PeerRecord(ctx, "shared")
	a := startHelper(t, "modify", p, "p1", 100)
	b := startHelper(t, "modify", p, "p2", 100)
	a.wait(t)
	b.wait(t)
	rec, err := s.Identities().PeerRecord(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"p1", "p2"} {
		for i := range 100 {
			if !slices.Contains(rec.Scopes, fmt.Sprintf("%s-%d", tag, i)) {
				t.Fatalf("scope %s-%d lost", tag, i)
			}
		}
	}
	if rec.Revision != before.Revision+200 {
		t.Errorf("revision %d → %d, want +200", before.Revision, rec.Revision)
	}
}

// PSTORE-T25
func TestBusyAndCancellation(t *testing.T) {
	t.Parallel()
	p := storePath(t)
	s := open(t, sqlitestore.Options{Path: p, Create: true, BusyTimeout: 100 * time.Millisecond})
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("a", fp(1))); err != nil {
		t.Fatal(err)
	}
	db := plainDB(t, p, false)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = s.Identities().PutPeer(ctx, peer("b", fp(2)))
	wantCode(t, err, sqlitestore.CodeBusy)
	if _, ok := resolves(s, fp(1)); !ok {
		t.Errorf("resolution blocked by a writer")
	}
	if peers, err := s.Identities().ListPeers(ctx); err != nil || len(peers) != 1 {
		t.Errorf("ListPeers during the hold = %v, %v", peers, err)
	}
	// A long busy timeout: cancellation ends the wait (PSTORE-R75, R54).
	long := open(t, sqlitestore.Options{Path: p, BusyTimeout: time.Hour, DisableWatch: true})
	cctx, cancel := context.WithCancel(ctx)
	stop := time.AfterFunc(100*time.Millisecond, cancel)
	defer stop.Stop()
	done := make(chan error, 1)
	go func() { done <- long.Identities().PutPeer(cctx, peer("c", fp(3))) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("PutPeer with a cancelled context = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PutPeer ignored its context while waiting for the lock")
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	if err := s.Identities().PutPeer(ctx, peer("b", fp(2))); err != nil {
		t.Errorf("write after release: %v", err)
	}
}

// PSTORE-T26
func TestConcurrentResolveDuringRotation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.Identities().PutPeer(ctx, peer("rot", fp(0))); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			// Bounded, so that 64 spinning readers cannot starve the writer on a small machine.
			for range 300 {
				select {
				case <-stop:
					return
				default:
				}
				for i := range 3 {
					if id, ok := resolves(s, fp(i)); ok && id != "rot" {
						t.Errorf("resolved to %q", id)
					}
				}
			}
		})
	}
	for i := 1; i <= 30; i++ {
		if _, err := s.Identities().ModifyPeer(ctx, "rot", func(p *auth.PeerEntry) error {
			p.Fingerprints = []string{fp(i % 3)}
			return nil
		}); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
}
