package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// Options configures [New].
type Options struct {
	// Static holds the listen address, the TLS identity, the drain timeout and the QUIC
	// tuning. Required fields: ListenAddr and TLS.
	Static config.StaticConfig
	// Handlers is the built registry. Required, with at least one handler.
	Handlers *handler.Registry
	// Dynamic supplies the per-IP connection limit, read on every accept so a reload applies
	// at once (CORE-R430). If nil, there is no per-IP limit.
	Dynamic *config.Dynamic
	// Identities resolves TLS client fingerprints. Required. When it implements
	// auth.ChangeNotifier, live connections are re-checked after every change (CORE-R440).
	Identities auth.IdentityProvider
	// Logger receives connection-level events. If nil, nothing is logged.
	Logger *slog.Logger
}

// Endpoint is a QUIC listener that dispatches connections by ALPN. Create it with [New] and
// end it with [Endpoint.Shutdown], whether or not [Endpoint.Serve] ever ran. Its methods are
// safe for concurrent use.
type Endpoint struct {
	static   config.StaticConfig // with defaults applied
	reg      *handler.Registry
	dyn      *config.Dynamic
	ids      auth.IdentityProvider
	notifier auth.ChangeNotifier // nil when ids cannot change
	log      *slog.Logger
	hasH3    bool

	udp *net.UDPConn
	tr  *quic.Transport
	ln  *quic.Listener

	// baseCtx is the parent of every handler's ctx; cancelled (cause ErrClosed) at shutdown
	// step 2 (CORE-R416).
	baseCtx    context.Context
	cancelBase context.CancelCauseFunc

	seq atomic.Uint64 // connection sequence numbers for logs

	mu       sync.Mutex
	live     map[*liveConn]struct{} // guarded by mu; one entry per connection goroutine
	perIP    map[netip.Addr]int     // guarded by mu
	closing  bool                   // guarded by mu; set at shutdown step 1
	serving  bool                   // guarded by mu; Serve was called
	drained  chan struct{}          // closed (under mu) once closing and live is empty
	isDrain  bool                   // guarded by mu; drained is closed
	wg       sync.WaitGroup         // connection goroutines
	shutDone chan struct{}          // closed by the shutdown sequence when it ends
	shutErr  error                  // written before shutDone is closed

	watchStop chan struct{} // closed by shutdown step 1
	watchDone chan struct{} // closed by the watcher goroutine; nil without a watcher
}

// liveConn is the endpoint's record of one connection being served.
type liveConn struct {
	c   *conn.Connection
	seq uint64
	// Set once by the connection goroutine, under Endpoint.mu.
	ip      netip.Addr
	counted bool
	fp      string
	id      *auth.Identity // the endpoint's own clone, never the handler's copy
}

// New validates opts, builds the server TLS configuration (NextProtos = the registry's ALPNs
// in registration order), binds the UDP socket, requests its buffer sizes and starts the QUIC
// listener (CORE-R401..R407). Invalid options return CONFIG_INVALID, a socket that cannot be
// bound BIND_FAILED, and TLS problems keep their tlsconf code (an ACME identity is
// UNSUPPORTED). Nothing is left open on failure.
func New(opts Options) (*Endpoint, error) {
	var missing []string
	if opts.Handlers == nil || opts.Handlers.Len() == 0 {
		missing = append(missing, "Handlers: a registry with at least one handler is required")
	}
	if opts.Identities == nil {
		missing = append(missing, "Identities: an identity provider is required")
	}
	if len(missing) > 0 {
		return nil, alkerr.New(alkerr.CodeConfigInvalid, "invalid endpoint options: "+strings.Join(missing, "; "))
	}
	if err := opts.Static.Validate(); err != nil {
		return nil, err
	}
	static := opts.Static.WithDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsConf, err := tlsconf.ServerConfig(static.TLS, opts.Handlers.ALPNs())
	if err != nil {
		return nil, err
	}
	if static.TLS.Kind == tlsconf.KindSelfSigned {
		log.Warn("endpoint identity is an ephemeral self-signed development certificate; clients cannot verify it")
	}
	_, hasH3 := opts.Handlers.Lookup(handler.ALPNHTTP3)
	qconf := serverQUICConfig(static.QUIC, hasH3)

	udpAddr, err := net.ResolveUDPAddr("udp", static.ListenAddr)
	if err != nil {
		return nil, alkerr.Wrap(alkerr.CodeBindFailed, "resolve listen address "+static.ListenAddr, err)
	}
	udp, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return nil, alkerr.Wrap(alkerr.CodeBindFailed, "bind UDP "+static.ListenAddr, err)
	}
	requestBuffers(udp, static.QUIC, log)
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(tlsConf, qconf)
	if err != nil {
		_ = tr.Close()
		_ = udp.Close()
		return nil, alkerr.Wrap(alkerr.CodeBindFailed, "listen QUIC on "+static.ListenAddr, err)
	}
	e := &Endpoint{
		static:    static,
		reg:       opts.Handlers,
		dyn:       opts.Dynamic,
		ids:       opts.Identities,
		log:       log,
		hasH3:     hasH3,
		udp:       udp,
		tr:        tr,
		ln:        ln,
		live:      make(map[*liveConn]struct{}),
		perIP:     make(map[netip.Addr]int),
		drained:   make(chan struct{}),
		shutDone:  make(chan struct{}),
		watchStop: make(chan struct{}),
	}
	// The one context core roots itself: the endpoint is the object it scopes (CORE-R416).
	e.baseCtx, e.cancelBase = context.WithCancelCause(context.Background())
	if n, ok := opts.Identities.(auth.ChangeNotifier); ok {
		e.notifier = n
		e.watchDone = make(chan struct{})
		go e.watch()
	}
	return e, nil
}

// serverQUICConfig applies CORE-R403/R404: 0-RTT stays off (Allow0RTT false), no datagrams,
// and unidirectional streams only when an h3 handler is registered.
func serverQUICConfig(s config.QUICSettings, hasH3 bool) *quic.Config {
	q := quictransport.ClientConfig(s)
	q.Allow0RTT = false
	q.EnableDatagrams = false
	if hasH3 {
		q.MaxIncomingUniStreams = s.WithDefaults().MaxIncomingUniStreams
	}
	return q
}

// requestBuffers asks for the configured socket buffer sizes and logs the granted sizes once
// (CORE-R407). Failures are logged, never fatal.
func requestBuffers(udp *net.UDPConn, q config.QUICSettings, log *slog.Logger) {
	q = q.WithDefaults()
	if q.UDPReceiveBuffer > 0 {
		if err := udp.SetReadBuffer(q.UDPReceiveBuffer); err != nil {
			log.Warn("cannot set UDP receive buffer", slog.Int("requested", q.UDPReceiveBuffer), slog.Any("err", err))
		}
	}
	if q.UDPSendBuffer > 0 {
		if err := udp.SetWriteBuffer(q.UDPSendBuffer); err != nil {
			log.Warn("cannot set UDP send buffer", slog.Int("requested", q.UDPSendBuffer), slog.Any("err", err))
		}
	}
	recv, send, ok := bufferSizes(udp)
	attrs := []slog.Attr{
		slog.Int("requested", max(q.UDPReceiveBuffer, 0)),
		slog.Int("requested_send", max(q.UDPSendBuffer, 0)),
	}
	if !ok {
		attrs = append(attrs, slog.String("udp_recv_buffer", "unknown"), slog.String("udp_send_buffer", "unknown"))
		log.LogAttrs(context.Background(), slog.LevelInfo, "UDP socket buffer sizes", attrs...)
		return
	}
	attrs = append(attrs, slog.Int("udp_recv_buffer", recv), slog.Int("udp_send_buffer", send))
	if recv < q.UDPReceiveBuffer || send < q.UDPSendBuffer {
		attrs = append(attrs, slog.String("hint", "raise the sysctls net.core.rmem_max and net.core.wmem_max"))
		log.LogAttrs(context.Background(), slog.LevelWarn, "UDP socket buffers smaller than requested", attrs...)
		return
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "UDP socket buffer sizes", attrs...)
}

// Addr returns the bound UDP address (useful with port 0).
func (e *Endpoint) Addr() net.Addr { return e.udp.LocalAddr() }

// Serve accepts connections until ctx ends, [Endpoint.Shutdown] is called or the listener
// fails, starting one goroutine per connection (CORE-R410, R411). Cancelling ctx runs the
// shutdown sequence, each wait bounded by the drain timeout. Serve returns only once the
// shutdown sequence has finished, whoever started it: nil after an orderly stop, the wrapped
// error after an unexpected accept failure, and [ErrClosed] at once when called twice or
// after shutdown.
func (e *Endpoint) Serve(ctx context.Context) error {
	e.mu.Lock()
	if e.serving || e.closing {
		e.mu.Unlock()
		return ErrClosed
	}
	e.serving = true
	e.mu.Unlock()
	for {
		qc, err := e.ln.Accept(ctx)
		if err != nil {
			switch {
			case errors.Is(err, quic.ErrServerClosed) || e.isClosing():
				<-e.shutDone
				return nil
			}
			if e.begin() {
				e.runShutdown(context.WithoutCancel(ctx), true)
			}
			<-e.shutDone
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		c := quictransport.Wrap(qc)
		lc, ok := e.track(c)
		if !ok {
			// Accepted from the queue after the listener closed (CORE-R454).
			_ = c.Close(CloseShutdown, CloseReason(CloseShutdown))
			continue
		}
		go e.serveQUIC(qc, lc)
	}
}

// Dispatch serves a connection produced by another accept loop (TCP+TLS, an SSH channel)
// through the same registry, tracking, rate limit and revocation as QUIC connections
// (CORE-R422). clientFingerprint is the canonical fingerprint of the client certificate, or
// "". It returns at once; after shutdown has started it closes c with [CloseShutdown].
func (e *Endpoint) Dispatch(c *conn.Connection, clientFingerprint string) {
	lc, ok := e.track(c)
	if !ok {
		_ = c.Close(CloseShutdown, CloseReason(CloseShutdown))
		return
	}
	go func() {
		defer e.untrack(lc)
		e.serve(lc, clientFingerprint)
	}()
}

// track registers a new connection goroutine; false once shutdown has begun.
func (e *Endpoint) track(c *conn.Connection) (*liveConn, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return nil, false
	}
	lc := &liveConn{c: c, seq: e.seq.Add(1)}
	e.live[lc] = struct{}{}
	e.wg.Add(1)
	return lc, true
}

// untrack is the last step of a connection goroutine.
func (e *Endpoint) untrack(lc *liveConn) {
	e.mu.Lock()
	delete(e.live, lc)
	if lc.counted {
		if e.perIP[lc.ip]--; e.perIP[lc.ip] <= 0 {
			delete(e.perIP, lc.ip)
		}
	}
	e.maybeDrainedLocked()
	e.mu.Unlock()
	e.wg.Done()
}

func (e *Endpoint) maybeDrainedLocked() {
	if e.closing && len(e.live) == 0 && !e.isDrain {
		e.isDrain = true
		close(e.drained)
	}
}

func (e *Endpoint) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

// serveQUIC runs in the connection goroutine of a QUIC connection.
func (e *Endpoint) serveQUIC(qc *quic.Conn, lc *liveConn) {
	defer e.untrack(lc)
	fp := ""
	if certs := qc.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		fp = fingerprintOf(certs[0])
	}
	if e.hasH3 && lc.c.ALPN() != handler.ALPNHTTP3 {
		done := make(chan struct{})
		go discardUniStreams(qc, done)
		defer func() {
			_ = lc.c.Close(CloseNormal, CloseReason(CloseNormal)) // no-op unless still open
			<-done
		}()
	}
	e.serve(lc, fp)
}

// discardUniStreams stops every unidirectional stream the peer opens on a connection whose
// handler will never read one (CORE-R405). It exits when the connection closes and then
// closes done.
func discardUniStreams(qc *quic.Conn, done chan<- struct{}) {
	defer close(done)
	for {
		s, err := qc.AcceptUniStream(qc.Context())
		if err != nil {
			return
		}
		s.CancelRead(0)
	}
}

// ipOf returns the IP of addr without port, IPv4-mapped addresses unmapped (CORE-R430).
func ipOf(addr net.Addr) (netip.Addr, bool) {
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap(), a.IP != nil
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap(), a.IP != nil
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}
