// Package node runs an assembled node for `alknet serve` (cli.md §8): it builds the curated
// registry with the built-ins, the one protocol dispatcher and the QUIC endpoint, writes the
// instance lock's content and the ready file, runs the revocation loop and the optional
// metrics listener, and shuts everything down in order (CLI-R38, CLI-R49..R52, CLI-R64..R69).
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	callclient "github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/builtin"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/connector"
	"github.com/alknet/alknet/alknet-cli/internal/metrics"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/route"
	"github.com/alknet/alknet/alknet-core/auth"
	coreconfig "github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/tlsconf"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// Params is everything Run needs; the caller has done start-up steps 1–7 (config, core dumps,
// instance lock, store, vault, capabilities, vault locked).
type Params struct {
	Config      *config.Config
	Layout      paths.Layout
	Log         *slog.Logger
	Listen      string    // overrides listen.addr when set
	MetricsAddr string    // overrides metrics.addr when set
	ReadyFile   string    // CLI-R72; "" = none
	Events      io.Writer // serve --json: JSON Lines events on stdout; nil = none
	Hint        io.Writer // a terminal: also print the next thing to try; nil = none
	Store       *sqlitestore.Store
	TLS         tlsconf.Identity // the node's TLS identity (raw key for vault and ephemeral modes)
	Fingerprint string
	Version     string
	Lock        *paths.InstanceLock
	StartedAt   time.Time
	ConfigFile  string          // re-read on reload
	Level       *slog.LevelVar  // the log threshold a reload sets
	LevelFixed  bool            // the level came from a flag, which wins over the file
	Reloads     <-chan struct{} // one value per SIGHUP (CLI-R16); nil = no reloads
	// Tokens are the decrypted auth_credential values of [[connect]] entries, by provider
	// name (CLI-R40); only the referenced ones were decrypted.
	Tokens map[string]auth.AuthToken
}

// ReadyInfo is the ready file's and the ready event's content (CLI-R72, CLI-R77).
type ReadyInfo struct {
	Event       string   `json:"event,omitempty"`
	Listen      string   `json:"listen"`
	Fingerprint string   `json:"fingerprint"`
	ALPNs       []string `json:"alpns"`
	PID         int      `json:"pid"`
	MetricsAddr string   `json:"metrics_addr,omitempty"`
}

// Run serves until ctx ends or a fatal error happens, then shuts down gracefully (CLI-R50). It
// returns nil after a clean stop; a store that failed closed returns STORE_UNAVAILABLE
// (CLI-R51). Every goroutine it starts has ended when it returns (CLI-R52).
func Run(ctx context.Context, p Params) (err error) {
	cfg := p.Config
	log := p.Log
	listen := cfg.Listen.Addr
	if p.Listen != "" {
		listen = p.Listen
	}
	metricsAddr := cfg.Metrics.Addr
	if p.MetricsAddr != "" {
		metricsAddr = p.MetricsAddr
	}
	alpns := []string{protocol.ALPN}

	dyn, err := coreconfig.NewDynamic(coreconfig.DynamicConfig{RateLimits: coreconfig.RateLimitConfig{
		MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP, MaxAuthAttempts: cfg.Limits.MaxAuthAttempts,
	}}, log)
	if err != nil {
		return err
	}

	// Step 8: the curated registry, the metrics observer and the one dispatcher.
	var policy registry.AnyPolicy
	switch cfg.Call.AnyPolicy {
	case "round-robin":
		policy = registry.RoundRobin()
	case "least-outstanding":
		policy = registry.LeastOutstanding()
	default:
		policy = registry.FirstMatch()
	}
	peerSet := registry.NewPeerSet(registry.PeerSetOptions{AnyPolicy: policy, Logger: log})
	var m *metrics.Registry
	if metricsAddr != "" {
		m = metrics.New(metrics.Sources{
			Store: func() (uint64, bool) {
				return p.Store.Stats().Reloads, p.Store.Health() == nil
			},
			PeersAttached: func() int { return len(peerSet.View().IDs()) },
		}, p.Version, runtime.Version(), p.StartedAt)
	}
	tracker := newTracker(log, peerSet, cfg.Call.ImportFromInboundPeers)
	b := registry.NewBuilder().Logger(log)
	discovery.Install(b, discovery.Options{ListPeers: true, ListPeersAccess: registry.AccessControl{RequiredScopes: []string{"ops:topology"}}})
	name := cfg.Node.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	builtin.Install(b, builtin.Node{
		Name: name, Version: p.Version, Fingerprint: p.Fingerprint, StartedAt: p.StartedAt, ALPNs: alpns,
		Store: func() builtin.StoreHealth {
			st := p.Store.Stats()
			g := map[string]int64{}
			for ch, v := range st.Generations {
				g[string(ch)] = v
			}
			return builtin.StoreHealth{Healthy: p.Store.Health() == nil, Generations: g}
		},
		Peers: tracker.list,
	})
	route.Install(b, cfg.Route, log)
	if m != nil {
		b.Observe(m)
	}
	reg, err := b.Build()
	if err != nil {
		return fmt.Errorf("build the operation registry: %w", err)
	}
	timeout := cfg.Call.DefaultTimeout.D()
	disp := &protocol.Dispatcher{
		Invoker:    reg,
		Identities: p.Store.Identities(),
		Peers:      peerSet,
		Options: protocol.Options{
			CallTimeout: timeout, ServeTimeout: timeout,
			ShutdownGrace:   cfg.Limits.DrainTimeout.D() * 3 / 4,
			MaxAuthFailures: func() int { return dyn.Current().RateLimits.MaxAuthAttempts },
			Logger:          log,
		},
	}
	adapter := protocol.NewCallAdapter(disp, protocol.WithAcceptHook(tracker.hook))
	quic := coreconfig.QUICSettings{MaxIdleTimeout: cfg.Limits.IdleTimeout.D(), MaxIncomingStreams: int64(cfg.Limits.MaxIncomingStreams)}
	newConn := func(e config.Connect) *connector.Connector {
		var id *tlsconf.Identity
		if e.PresentIdentity == nil || *e.PresentIdentity {
			tid := p.TLS
			id = &tid
		} else {
			log.Warn("present_identity = false: the head can never attach this node as a peer, so it can call nothing on it", "peer_id", e.PeerID)
		}
		return connector.New(connector.Params{
			Entry: e, Dispatcher: disp, Peers: p.Store.Identities(), PeerSet: peerSet, Identity: id, Token: p.Tokens[e.AuthCredential],
			Fingerprint: p.Fingerprint, QUIC: quic, Log: log,
		})
	}
	connCtx, stopConnCtx := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConnCtx()
	conns := &connectorSet{ctx: connCtx, newConn: newConn}
	tracker.outbound = conns.peers

	hb := handler.NewRegistryBuilder()
	if err := hb.Add(adapter); err != nil {
		return err
	}
	hreg, err := hb.Build()
	if err != nil {
		return err
	}

	// Steps 9 and 10: the endpoint binds its socket as part of construction.
	ep, err := endpoint.New(endpoint.Options{
		Static: coreconfig.StaticConfig{
			ListenAddr: listen, TLS: p.TLS,
			DrainTimeout: cfg.Limits.DrainTimeout.D(),
			QUIC:         coreconfig.QUICSettings{MaxIdleTimeout: cfg.Limits.IdleTimeout.D(), MaxIncomingStreams: int64(cfg.Limits.MaxIncomingStreams)},
		},
		Handlers: hreg, Dynamic: dyn, Identities: p.Store.Identities(), Logger: log,
	})
	if err != nil {
		e := output.Classify(err)
		if e.Code == output.CodeBindFailed {
			e.Message = "cannot bind UDP " + listen + ": " + causeText(err)
			e.Hint = "the port is in use or not permitted; choose another with --listen (for example --listen 127.0.0.1:0)"
		}
		return e
	}
	bound := ep.Addr().String()
	var wg sync.WaitGroup
	shutdownEndpoint := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Limits.DrainTimeout.D()+5*time.Second)
		defer cancel()
		if err := ep.Shutdown(sctx); err != nil {
			log.Warn("endpoint shutdown did not finish cleanly", "err", err)
		}
	}
	info := paths.LockInfo{PID: os.Getpid(), StartedAt: p.StartedAt.UTC(), Version: p.Version, Listen: bound, Fingerprint: p.Fingerprint, ALPNs: alpns}

	var msrv *metricsServer
	if metricsAddr != "" {
		msrv, err = startMetrics(metricsAddr, m)
		if err != nil {
			shutdownEndpoint()
			return err
		}
		info.MetricsAddr = msrv.addr
	}
	if p.Lock != nil {
		if err := p.Lock.Write(info); err != nil {
			shutdownEndpoint()
			msrv.shutdown()
			return err
		}
	}

	// Step 11: serve and the revocation loop.
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	serveErr := make(chan error, 1) // written once by the serve goroutine
	wg.Go(func() { serveErr <- ep.Serve(serveCtx) })
	conns.apply(cfg.Connect)
	loopErr := make(chan error, 1) // written once by the revocation loop
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { loopErr <- revocationLoop(loopCtx, p.Store, disp, m, tracker, log) })

	// Step 12: ready.
	ready := ReadyInfo{Listen: bound, Fingerprint: p.Fingerprint, ALPNs: alpns, PID: os.Getpid(), MetricsAddr: info.MetricsAddr}
	log.Info("node ready", "listen", bound, "fingerprint", p.Fingerprint, "alpns", alpns, "metrics_addr", info.MetricsAddr)
	if p.Hint != nil {
		fmt.Fprintf(p.Hint, "Listening on %s as %s\nTry: alknet call /node/ping --input '\"hello\"'\n", bound, p.Fingerprint)
	}
	if p.ReadyFile != "" {
		b, _ := json.Marshal(ready)
		if err := paths.WriteAtomic(p.ReadyFile, append(b, '\n'), paths.FileMode); err != nil {
			log.Error("cannot write the ready file", "path", p.ReadyFile, "err", err)
		}
	}
	if p.Events != nil {
		ev := ready
		ev.Event = "ready"
		_ = output.WriteJSON(p.Events, ev, false)
	}

	prevStatus, _ := ReadReloadStatus(p.Layout.ReloadStatus.Path)
	level := p.Level
	if level == nil {
		level = new(slog.LevelVar)
	}
	running := *cfg
	rl := &reloader{connect: conns.apply, tokens: p.Tokens, file: p.ConfigFile, statusPath: p.Layout.ReloadStatus.Path, running: &running, level: level,
		levelFixed: p.LevelFixed, dyn: dyn, log: log, generation: prevStatus.Generation}
	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "cause", context.Cause(ctx))
			break wait
		case e := <-serveErr:
			runErr = e
			log.Error("the endpoint stopped serving", "err", e)
			break wait
		case e := <-loopErr:
			runErr = e
			log.Info("shutting down", "cause", e)
			break wait
		case <-p.Reloads:
			st := rl.reload()
			if p.Events != nil {
				st.Event = "reload"
				_ = output.WriteJSON(p.Events, st, false)
			}
		}
	}
	// Shutdown (CLI-R50): endpoint drain, then the loop, then the metrics listener.
	stopServe()
	// The connectors' clients drain while the endpoint does (CLI-R50 step 1).
	connsDone := make(chan struct{})
	go func() { defer close(connsDone); conns.stop() }()
	shutdownEndpoint()
	<-connsDone
	stopLoop()
	wg.Wait()
	msrv.shutdown()
	if p.ReadyFile != "" {
		_ = os.Remove(p.ReadyFile)
	}
	return runErr
}

func causeText(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return err.Error()
}

// revocationLoop cuts the live work of identities that lost their grants (CLI-R49): on every
// identity change and every 10 s it compares the store's compiled policy with the previous
// one and revokes what auth.RevokedIDs reports. A store failed closed ends the node
// (CLI-R51).
func revocationLoop(ctx context.Context, st *sqlitestore.Store, disp *protocol.Dispatcher, m *metrics.Registry, tr *tracker, log *slog.Logger) error {
	ids := st.Identities()
	prev, prevAt := ids.Policy(), time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		changed := ids.Changed()
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
		cur, now := ids.Policy(), time.Now()
		for _, id := range auth.RevokedIDs(prev, prevAt, cur, now) {
			res := disp.Revoke(id)
			if m != nil {
				m.Revoked()
			}
			log.Warn("identity revoked", "peer_id", id, "connections", res.Connections, "requests", res.Requests)
		}
		prev, prevAt = cur, now
		if s := st.Stats(); s.FailClosed {
			log.Error("the store is unusable beyond store.max_stale; stopping", "err", st.Health(), "failing_since", s.FailingSince)
			return output.Errorf(output.CodeStoreUnavailable, "the peer store has been unusable since %s", s.FailingSince.UTC().Format(time.RFC3339)).
				WithHint("check the store file and its disk, then restart the node")
		}
	}
}

// tracker records the inbound connections that resolved to a peer, for /node/peers and the
// unknown-key log line (CLI-R44, CLI-R48).
type tracker struct {
	log      *slog.Logger
	peers    *registry.PeerSet
	importOn bool // call.import_from_inbound_peers
	// outbound lists the connectors' entries; set before the endpoint starts.
	outbound func() []builtin.Peer
	mu       sync.Mutex
	in       map[string][]trackedConn // guarded by mu; live connections per peer id, oldest first
}

type trackedConn struct {
	c     *protocol.CallConnection
	since time.Time
}

func newTracker(log *slog.Logger, peers *registry.PeerSet, imp bool) *tracker {
	return &tracker{log: log, peers: peers, importOn: imp, in: map[string][]trackedConn{}}
}

func (t *tracker) hook(ctx context.Context, c *protocol.CallConnection) error {
	id, ok := c.PeerID()
	fp, addr := c.RemoteFingerprint(), c.RemoteAddr().String()
	// CLI-R61: connection lifecycle at info.
	t.log.Info("connection accepted", "peer_id", string(id), "fingerprint", fp, "remote_addr", addr, "alpn", protocol.ALPN)
	defer func() {
		reason := "closed"
		if err := c.Err(); err != nil {
			reason = err.Error()
		}
		t.log.Info("connection closed", "peer_id", string(id), "remote_addr", addr, "reason", reason)
	}()
	if !ok {
		if fp != "" {
			t.log.Info("a client presented a key this node does not know", "fingerprint", fp, "remote_addr", addr,
				"admit_with", "alknet peers add <id> --fingerprint "+fp)
		}
		<-ctx.Done()
		return nil
	}
	pid := string(id)
	if t.importOn {
		// from_call import of the peer's operations, bounded by 10 s (CLI-R48, ADPT-R16); a
		// failure leaves the connection up and unattached.
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := callclient.ImportAndAttach(ictx, c, callclient.FromCallConfig{Logger: t.log}, t.peers)
		cancel()
		if err != nil {
			lvl := slog.LevelWarn
			if ae, ok := errors.AsType[*callclient.AdapterError](err); ok && ae.Kind == callclient.DiscoveryFailed {
				lvl = slog.LevelDebug // a one-shot client serves no discovery (CLI-R48)
			}
			t.log.Log(ctx, lvl, "cannot import an inbound peer's operations; it stays connected, unattached", "peer_id", pid, "err", err)
		}
	} else if err := t.peers.AttachConnection(id, c.Imported(), c); err != nil {
		// call.import_from_inbound_peers = false: attached with its empty set (CLI-R48).
		t.log.Debug("cannot attach an inbound peer", "peer_id", pid, "err", err)
	}
	t.mu.Lock()
	t.in[pid] = append(t.in[pid], trackedConn{c: c, since: time.Now()})
	t.mu.Unlock()
	<-ctx.Done()
	// Only this connection goes: an older one of the same peer that is still up (a worker's
	// connector while a one-shot `call --as-node` came and went) is listed again (CLI-R48).
	t.mu.Lock()
	live := slices.DeleteFunc(t.in[pid], func(tc trackedConn) bool { return tc.c == c })
	if len(live) == 0 {
		delete(t.in, pid)
	} else {
		t.in[pid] = live
	}
	t.mu.Unlock()
	return nil
}

func (t *tracker) list() []builtin.Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]builtin.Peer, 0, len(t.in))
	for id, conns := range t.in {
		tc := conns[len(conns)-1] // the newest, which is the one routing uses (ROUTE-R7)
		fp := tc.c.RemoteFingerprint()
		addr := tc.c.RemoteAddr().String()
		since := tc.since.UTC().Format(time.RFC3339)
		n := 0
		if imp := tc.c.Imported(); imp != nil {
			n = len(imp.Names())
		}
		out = append(out, builtin.Peer{PeerID: id, Fingerprint: &fp, Direction: "inbound", State: "connected",
			RemoteAddr: &addr, Since: &since, ImportedOps: n})
	}
	if t.outbound != nil {
		out = append(out, t.outbound()...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PeerID != out[j].PeerID {
			return out[i].PeerID < out[j].PeerID
		}
		return out[i].Direction < out[j].Direction
	})
	return out
}

// metricsServer is the loopback admin listener (CLI-R64, CLI-R69).
type metricsServer struct {
	addr string
	srv  *http.Server
	done chan struct{} // closed by the serving goroutine
}

func startMetrics(addr string, m *metrics.Registry) (*metricsServer, error) {
	ln, err := metrics.Listen(addr)
	if err != nil {
		return nil, output.Errorf(output.CodeBindFailed, "cannot bind the metrics listener %s: %v", addr, err).
			WithHint("choose another --metrics-addr, for example 127.0.0.1:0")
	}
	ms := &metricsServer{addr: ln.Addr().String(), srv: metrics.NewServer(m.Handler(ln.Addr())), done: make(chan struct{})}
	go func() {
		defer close(ms.done)
		_ = ms.srv.Serve(ln)
	}()
	return ms, nil
}

// shutdown closes the listener and waits for its goroutine; nil-safe.
func (ms *metricsServer) shutdown() {
	if ms == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ms.srv.Shutdown(ctx)
	<-ms.done
}
