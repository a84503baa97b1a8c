package connector_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/connector"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// CLI-R45: without a usable peer entry the connector never dials with an empty pin set: it
// reports waiting until the entry appears; cancelling ends Run with nothing left running.
func TestWaitsForAPeerEntry(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "s.db"), Create: true, AutoMigrate: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	empty, err := registry.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	imp := true
	c := connector.New(connector.Params{
		Entry: config.Connect{PeerID: "head", Addr: "127.0.0.1:1", Import: &imp,
			BackoffMin: config.Duration(10 * time.Millisecond), BackoffMax: config.Duration(20 * time.Millisecond)},
		Dispatcher: &protocol.Dispatcher{Invoker: empty}, Peers: st.Identities(), Log: slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	wait := func(state string) {
		deadline := time.Now().Add(20 * time.Second)
		for c.Peer().State != state {
			if time.Now().After(deadline) {
				t.Fatalf("state %q, want %q", c.Peer().State, state)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("waiting")
	if p := c.Peer(); p.Direction != "outbound" || p.Fingerprint != nil || *p.RemoteAddr != "127.0.0.1:1" {
		t.Fatalf("peer entry = %+v", p)
	}
	// With an entry, it dials (nothing listens there) and backs off with the failure recorded.
	if _, err := st.Identities().CreatePeer(t.Context(), auth.PeerEntry{PeerID: "head", Fingerprints: []string{"ed25519:" + strings.Repeat("00", 32)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Peer().LastError == nil {
		if time.Now().After(deadline) {
			t.Fatal("no dial failure recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
