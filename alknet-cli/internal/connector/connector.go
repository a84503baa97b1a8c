// Package connector keeps the [[connect]] connections of a node (cli.md §8.5, CLI-R45,
// CLI-R47, CLI-R49, CLI-R79): one supervised CallClient per entry on the node's one
// dispatcher, pinned to the fingerprints of the local peer entry of the head, re-read before
// every dial; it learns how the head sees this node with /node/whoami, and closes a connection
// whose peer entry lost the key the head presented.
package connector

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	callclient "github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/builtin"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	coreconfig "github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// PeerSource is the local auth provider's view of peer entries (the store's Identities).
type PeerSource interface {
	GetPeer(ctx context.Context, peerID string) (auth.PeerEntry, bool, error)
	Changed() <-chan struct{}
}

// Params configure a Connector.
type Params struct {
	Entry       config.Connect
	Dispatcher  *protocol.Dispatcher
	Peers       PeerSource
	PeerSet     *registry.PeerSet // where imported operations are attached under peer_id; nil = none
	Identity    *tlsconf.Identity // the node key; nil when present_identity = false
	Token       auth.AuthToken    // the decrypted auth_credential; zero = key only
	Fingerprint string            // this node's, for the CLI-R79 message
	QUIC        coreconfig.QUICSettings
	Log         *slog.Logger
}

// Connector is one [[connect]] entry. Run it on a goroutine owned by serve; it returns when
// ctx ends, after closing its client (CLI-R47, CLI-R50).
type Connector struct {
	p   Params
	cl  *callclient.CallClient
	log *slog.Logger

	watchers sync.WaitGroup // one per live connection, ending with it

	mu    sync.Mutex               // guards the fields below
	state string                   // connecting | connected | backoff | waiting
	since time.Time                // of the current state
	cc    *protocol.CallConnection // the live connection, or nil
	last  *string                  // last failure, "CODE: message"
	view  *builtin.RemoteView      // the head's last /node/whoami answer on cc
}

// New builds the connector and its CallClient (CLI-R45).
func New(p Params) *Connector {
	c := &Connector{p: p, log: p.Log.With("component", "connector", "peer_id", p.Entry.PeerID), state: "connecting", since: time.Now()}
	c.cl = callclient.New(p.Dispatcher, callclient.WithQUICSettings(p.QUIC), callclient.WithLogger(c.log),
		callclient.WithOnConnect(c.onConnect))
	return c
}

func (c *Connector) set(state string, cc *protocol.CallConnection, failure error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != state {
		c.state, c.since = state, time.Now()
	}
	c.cc = cc
	if failure != nil {
		msg := failure.Error()
		if code := alkerr.CodeOf(failure); code != "" {
			msg = string(code) + ": " + msg
		}
		c.last = &msg
	}
	if cc == nil {
		c.view = nil
	}
}

// Run supervises the connection until ctx ends.
func (c *Connector) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.recheck(ctx) })
	_ = callclient.Supervise(ctx, c.dial, callclient.Backoff{
		Min: c.p.Entry.BackoffMin.D(), Max: c.p.Entry.BackoffMax.D(), ResetAfter: 30 * time.Second,
	})
	_ = c.cl.Close()
	c.watchers.Wait()
	c.set("connecting", nil, nil)
}

// pins reads the peer entry before every dial (CLI-R45): absent, disabled or without a
// fingerprint means waiting for the next identity change, never an empty pin set.
func (c *Connector) pins(ctx context.Context) ([]string, error) {
	logged := false
	for {
		changed := c.p.Peers.Changed()
		e, ok, err := c.p.Peers.GetPeer(ctx, c.p.Entry.PeerID)
		if err == nil && ok && e.IsEnabled() && len(e.Fingerprints) > 0 {
			return e.Fingerprints, nil
		}
		if !logged {
			c.log.Warn("not dialling: the head has no enabled peer entry with a fingerprint here; add it with `alknet peers add " +
				c.p.Entry.PeerID + " --fingerprint <the head's key>`")
			logged = true
		}
		c.set("waiting", nil, nil)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

func (c *Connector) dial(ctx context.Context) (*protocol.CallConnection, error) {
	fps, err := c.pins(ctx)
	if err != nil {
		return nil, err
	}
	c.set("connecting", nil, nil)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cc, err := c.cl.Connect(dctx, c.p.Entry.Addr, callclient.CallCredentials{
		TLS: c.p.Identity, AuthToken: c.p.Token, RemoteIdentity: &callclient.RemoteIdentity{Fingerprints: fps},
	})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cannot connect to the head", "remote_addr", c.p.Entry.Addr, "err", err)
			c.set("backoff", nil, err)
		}
		return nil, err
	}
	c.set("connected", cc, nil)
	c.log.Info("connected to the head", "remote_addr", c.p.Entry.Addr, "fingerprint", cc.RemoteFingerprint())
	c.watchers.Go(func() {
		<-cc.Done()
		c.mu.Lock()
		live := c.cc == cc
		c.mu.Unlock()
		if live {
			c.log.Warn("the connection to the head ended", "err", cc.Err())
			c.set("backoff", nil, cc.Err())
		}
	})
	return cc, nil
}

// onConnect runs the identity check (CLI-R79) and the import (CLI-R46); it never fails the
// connection.
func (c *Connector) onConnect(ctx context.Context, cc *protocol.CallConnection) error {
	if c.p.Identity != nil {
		c.whoami(ctx, cc) // first, before the import (CLI-R79)
	}
	if c.p.Entry.Import == nil || *c.p.Entry.Import {
		// from_call import after every (re)connect, bounded by 10 s (CLI-R46); a failure is
		// logged and the connection stays up, unattached (CLNT-R9).
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := callclient.ImportAndAttach(ictx, cc, callclient.FromCallConfig{
			NamespacePrefix: c.p.Entry.NamespacePrefix, Include: c.p.Entry.Operations, Logger: c.log,
		}, c.p.PeerSet)
		if err != nil {
			c.log.Warn("cannot import the head's operations; the connection stays up, unattached", "err", err)
		}
	}
	return nil
}

// whoami asks the head how it sees this node (CLI-R79); it never fails the connection.
func (c *Connector) whoami(ctx context.Context, cc *protocol.CallConnection) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := cc.Call(wctx, "/node/whoami", json.RawMessage(`{}`))
	if err != nil {
		c.log.Debug("the head answered no /node/whoami", "err", err)
		return
	}
	var who struct {
		ID     *string `json:"id"`
		Origin *string `json:"origin"`
	}
	if json.Unmarshal(out, &who) != nil {
		return
	}
	c.mu.Lock()
	c.view = &builtin.RemoteView{ID: who.ID, Origin: who.Origin}
	c.mu.Unlock()
	switch {
	case c.p.Token.Len() > 0:
		c.log.Info("the head resolves this connection's token", "remote_id", deref(who.ID), "origin", deref(who.Origin))
	case who.Origin == nil || *who.Origin != "peer":
		c.log.Warn("the head does not recognise this node as a peer and will not route calls to it; on the head run `alknet peers add <id> --fingerprint "+c.p.Fingerprint+"`",
			"remote_addr", c.p.Entry.Addr, "fingerprint", c.p.Fingerprint)
	default:
		c.log.Debug("the head knows this node", "remote_id", deref(who.ID))
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// recheck closes the live connection when the peer entry is gone, disabled, or no longer holds
// the key the head presented (CLI-R49); Supervise then dials again with the current pins.
func (c *Connector) recheck(ctx context.Context) {
	for {
		changed := c.p.Peers.Changed()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		c.mu.Lock()
		cc := c.cc
		c.mu.Unlock()
		if cc == nil {
			continue
		}
		e, ok, err := c.p.Peers.GetPeer(ctx, c.p.Entry.PeerID)
		if err != nil {
			continue
		}
		if !ok || !e.IsEnabled() || !slices.Contains(e.Fingerprints, cc.RemoteFingerprint()) {
			c.log.Warn("the head's peer entry changed; reconnecting with the current key set")
			_ = cc.Close()
		}
	}
}

// Peer is this connector's /node/peers entry (CLI-R44).
func (c *Connector) Peer() builtin.Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	addr := c.p.Entry.Addr
	since := c.since.UTC().Format(time.RFC3339)
	p := builtin.Peer{PeerID: c.p.Entry.PeerID, Direction: "outbound", State: c.state, RemoteAddr: &addr, Since: &since,
		LastError: c.last, RemoteView: c.view}
	if c.cc != nil {
		fp := c.cc.RemoteFingerprint()
		p.Fingerprint = &fp
		if imp := c.cc.Imported(); imp != nil {
			p.ImportedOps = len(imp.Names())
		}
	}
	return p
}
