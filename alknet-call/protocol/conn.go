package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
)

// CallConnection is one established alknet/call connection, whichever side dialled it. It is
// safe for concurrent use. Obtain one with [Dispatcher.Attach] and run [CallConnection.Serve].
type CallConnection struct {
	d        *Dispatcher
	conn     *conn.Connection
	opts     Options
	log      *slog.Logger
	single   bool
	identity *auth.Identity
	peerID   registry.PeerID
	token    string // outgoing auth_token; "" = none
	remoteFP string
	imported *registry.ImportedSet
	metadata map[string]string
	hook     func(ctx context.Context, c *CallConnection) error

	sem    chan struct{} // inbound concurrency slots (CALLP-R150)
	inline nonBlocker    // the Invoker's NonBlocking lookup; nil = every request goes to a worker

	work        chan func()  // unbuffered: hands a served request to an idle worker
	idleWorkers atomic.Int32 // workers waiting on work

	draining     atomic.Bool
	answered     atomic.Bool // the peer sent this side a request (or opened a stream to send one)
	localDrain   atomic.Bool // this side is closing gracefully: new requests get "shutting down"
	authFailures atomic.Int64
	authDone     atomic.Bool

	baseCtx    context.Context // parent of served request contexts; cancelled when the connection ends
	baseCancel context.CancelCauseFunc

	doneCh  chan struct{} // closed by end (Done)
	endOnce sync.Once
	err     error // set before doneCh is closed

	closeCh   chan struct{} // closed by Close
	closeOnce sync.Once
	quitCh    chan struct{} // closed when a budget of the peer is exhausted (CALLP-R97, R161)
	quitOnce  sync.Once
	quitErr   error // what Serve returns then; set before quitCh is closed

	frameMu     sync.Mutex
	frameWindow time.Time // start of the current one-minute window of framing errors
	frameErrors int       // framing errors in that window (CALLP-R161)

	servedGone chan struct{} // size 1; signalled when a served request finishes

	singleReady chan struct{} // single-stream mode: closed once singleSt is set
	singleSt    *streamState

	pool     []poolSlot // long-lived request streams (CALLP-R74)
	poolNext atomic.Uint64

	mu      sync.Mutex
	served  map[string]*servedEntry   // guarded by mu
	pending map[string]*pendingEntry  // guarded by mu
	streams map[*streamState]struct{} // guarded by mu
	serving bool                      // guarded by mu
	stopped bool                      // guarded by mu; no goroutine may start any more
	wg      sync.WaitGroup            // every goroutine of the connection
}

// quit makes Serve end the connection and return err: the peer exhausted one of its budgets
// (CALLP-R97, R161). Only the first call counts.
func (c *CallConnection) quit(err error) {
	c.quitOnce.Do(func() {
		c.quitErr = err
		close(c.quitCh)
	})
}

// asNonBlocker returns inv's NonBlocking lookup, or nil when it has none.
func asNonBlocker(inv Invoker) nonBlocker {
	nb, _ := inv.(nonBlocker)
	return nb
}

func newCallConnection(d *Dispatcher, c *conn.Connection, co connOptions) *CallConnection {
	opts := d.Options.withDefaults()
	base, cancel := context.WithCancelCause(context.Background())
	cc := &CallConnection{
		d:           d,
		conn:        c,
		opts:        opts,
		log:         opts.Logger,
		single:      c.SingleStream(),
		inline:      asNonBlocker(d.Invoker),
		identity:    co.identity,
		remoteFP:    co.remoteFP,
		imported:    registry.NewImportedSet(),
		sem:         make(chan struct{}, opts.MaxConcurrentInbound),
		work:        make(chan func()),
		baseCtx:     base,
		baseCancel:  cancel,
		doneCh:      make(chan struct{}),
		closeCh:     make(chan struct{}),
		quitCh:      make(chan struct{}),
		servedGone:  make(chan struct{}, 1),
		singleReady: make(chan struct{}),
		pool:        newPool(opts.RequestStreams),
		served:      map[string]*servedEntry{},
		pending:     map[string]*pendingEntry{},
		streams:     map[*streamState]struct{}{},
	}
	if co.peer && co.identity != nil {
		cc.peerID = registry.PeerID(co.identity.ID)
	}
	if co.outgoingToken.Len() > 0 {
		cc.token = string(co.outgoingToken.Bytes())
	}
	cc.metadata = map[string]string{"alpn": c.ALPN()}
	if a := c.RemoteAddr(); a != nil {
		cc.metadata["remote_addr"] = a.String()
	}
	return cc
}

// poolSlot is one long-lived request stream; lock (size 1) guards st and is taken with a ctx, so
// a caller never waits past its deadline for another caller's OpenBi.
type poolSlot struct {
	lock chan struct{}
	st   *streamState // guarded by lock
}

func newPool(n int) []poolSlot {
	p := make([]poolSlot, n)
	for i := range p {
		p[i].lock = make(chan struct{}, 1)
	}
	return p
}

// goOwned starts fn on a goroutine owned by the connection, unless Serve has already returned
// (it reports false then and fn does not run).
func (c *CallConnection) goOwned(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// Idle dispatch workers: at most maxIdleWorkers wait for the next request, each for at most
// workerIdle. A reused worker keeps the stack a previous request grew, which a fresh goroutine
// would grow again (stack copying was about 7% of the CPU of a 64-caller echo run).
const (
	maxIdleWorkers = 16
	workerIdle     = 2 * time.Second
)

// goWork runs fn on an idle worker of the connection, or on a new owned goroutine that stays
// around as a worker afterwards. It reports false, like goOwned, when Serve has already returned.
func (c *CallConnection) goWork(fn func()) bool {
	select {
	case c.work <- fn:
		return true
	default:
	}
	return c.goOwned(func() {
		fn()
		c.worker()
	})
}

// worker waits for more work until it has been idle for workerIdle, enough workers are idle
// already, or the connection ends (end closes doneCh before Serve waits for its goroutines).
func (c *CallConnection) worker() {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		if c.idleWorkers.Add(1) > maxIdleWorkers {
			c.idleWorkers.Add(-1)
			return
		}
		if t == nil {
			t = time.NewTimer(workerIdle)
		} else {
			t.Reset(workerIdle)
		}
		select {
		case fn := <-c.work:
			c.idleWorkers.Add(-1)
			fn()
		case <-t.C:
			c.idleWorkers.Add(-1)
			return
		case <-c.doneCh:
			c.idleWorkers.Add(-1)
			return
		}
	}
}

// Serve runs the engine until the connection ends, [CallConnection.Close] is called, or ctx is
// cancelled; the last two start the graceful close of CALLP-R82 (new requests answered INTERNAL /
// "shutting down", running ones given Options.ShutdownGrace). It returns nil on a clean end, an
// error wrapping auth.ErrAuthRequired when the authentication budget is exhausted (CALLP-R97),
// and only after every goroutine the engine started has exited (CALLP-R99). A second call returns
// an error at once. Serve does not close the underlying connection except in single-stream mode
// and for revocation; the owner closes it after Serve returns.
func (c *CallConnection) Serve(ctx context.Context) error {
	c.mu.Lock()
	if c.serving {
		c.mu.Unlock()
		return errors.New("protocol: Serve called twice on one connection")
	}
	c.serving = true
	c.mu.Unlock()

	c.log.Debug("call connection serving", "alpn", c.conn.ALPN(), "remote_addr", c.metadata["remote_addr"],
		"peer_id", string(c.peerID), "single_stream", c.single)
	acceptCtx, stopAccept := context.WithCancel(c.baseCtx)
	defer stopAccept()
	c.goOwned(func() { c.acceptLoop(acceptCtx) })
	c.goOwned(func() {
		select {
		case <-c.conn.Done():
			c.end(ErrConnectionClosed)
		case <-c.doneCh:
		}
	})
	if c.hook != nil {
		c.goOwned(c.runHook)
	}

	var result error
	select {
	case <-ctx.Done():
		c.graceful()
	case <-c.closeCh:
		c.graceful()
	case <-c.doneCh:
	case <-c.quitCh:
		result = c.quitErr
		c.end(ErrConnectionClosed)
	}
	stopAccept()
	c.teardown()
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.wg.Wait()
	c.d.detach(c)
	c.log.Debug("call connection ended", "remote_addr", c.metadata["remote_addr"], "peer_id", string(c.peerID),
		"err", result)
	return result
}

func (c *CallConnection) runHook() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Warn("connection hook panicked", "panic", fmt.Sprint(r))
		}
	}()
	if err := c.hook(c.baseCtx, c); err != nil {
		c.log.Warn("connection hook failed", "err", err)
	}
}

// graceful runs the graceful close of CALLP-R82.
func (c *CallConnection) graceful() {
	c.draining.Store(true)
	c.localDrain.Store(true)
	timer := time.NewTimer(c.opts.ShutdownGrace)
	defer timer.Stop()
wait:
	for {
		c.mu.Lock()
		n := len(c.served)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-c.servedGone:
		case <-timer.C:
			break wait
		case <-c.doneCh:
			return
		}
	}
	c.mu.Lock()
	rest := make([]*servedEntry, 0, len(c.served))
	for _, se := range c.served {
		rest = append(rest, se)
	}
	c.mu.Unlock()
	for _, se := range rest {
		if se.claim() {
			c.writeServed(se, errorFrame(se.id, shuttingDown(), c.opts.MaxFrameSize))
			c.finishServed(se, ErrShutdown)
		}
	}
	c.end(nil)
}

// end marks the connection ended, in the order of CALLP-R81: Done and the imported set first,
// then pending requests fail with "connection closed", then served requests are cancelled. cause
// is what Err reports (nil for a local graceful close). Idempotent; the first call wins.
func (c *CallConnection) end(cause error) {
	c.endOnce.Do(func() {
		c.err = cause
		c.draining.Store(true)
		close(c.doneCh)
		c.imported.Close()
		c.d.detach(c)
		c.mu.Lock()
		pend := make([]*pendingEntry, 0, len(c.pending))
		for _, p := range c.pending {
			pend = append(pend, p)
		}
		served := make([]*servedEntry, 0, len(c.served))
		for _, se := range c.served {
			served = append(served, se)
		}
		c.mu.Unlock()
		for _, p := range pend {
			p.finish(result{err: errConnClosed()})
		}
		for _, se := range served {
			if se.claim() {
				c.finishServed(se, ErrConnectionClosed)
			}
		}
		c.baseCancel(ErrConnectionClosed)
	})
}

// teardown releases every stream the engine still holds so that its readers return.
func (c *CallConnection) teardown() {
	c.end(nil)
	if c.single {
		_ = c.conn.Close(0, "done")
	}
	c.mu.Lock()
	streams := make([]*streamState, 0, len(c.streams))
	for st := range c.streams {
		streams = append(streams, st)
	}
	c.mu.Unlock()
	for _, st := range streams {
		st.abandon()
	}
}

func (c *CallConnection) acceptLoop(ctx context.Context) {
	for {
		s, err := c.conn.AcceptBi(ctx)
		if err != nil {
			if ctx.Err() == nil && isConnEnd(err) {
				c.end(ErrConnectionClosed)
			}
			return
		}
		st := c.newStream(s, false, c.single)
		if st == nil {
			return
		}
		if c.single {
			c.singleSt = st
			close(c.singleReady)
			st.readLoop()
			return
		}
		if !c.goOwned(st.readLoop) {
			st.abandon()
			return
		}
	}
}

// newStream registers a stream; it returns nil (after resetting s) once the connection ended.
func (c *CallConnection) newStream(s conn.BiStream, opened, shared bool) *streamState {
	st := &streamState{c: c, s: s, opened: opened, shared: shared, served: map[*servedEntry]struct{}{}, sent: map[string]*pendingEntry{}}
	c.mu.Lock()
	if c.stopped || isClosed(c.doneCh) {
		c.mu.Unlock()
		s.Reset(0x03)
		return nil
	}
	c.streams[st] = struct{}{}
	c.mu.Unlock()
	return st
}

func (c *CallConnection) dropStream(st *streamState) {
	c.mu.Lock()
	delete(c.streams, st)
	c.mu.Unlock()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// isConnEnd reports a transport error that means the whole connection is gone.
func isConnEnd(err error) bool {
	return errors.Is(err, conn.ErrConnectionClosed) || errors.Is(err, conn.ErrTimeout) || errors.Is(err, net.ErrClosed)
}

// Close starts the graceful close of CALLP-R82 and returns without waiting; the goroutine running
// Serve learns the end by Serve's return. Idempotent; safe to call from a handler running on this
// very connection.
func (c *CallConnection) Close() error {
	c.draining.Store(true)
	c.closeOnce.Do(func() { close(c.closeCh) })
	return nil
}

// Done is closed when the engine first sees that the connection has ended (CALLP-R81 step 1),
// before any pending call fails.
func (c *CallConnection) Done() <-chan struct{} { return c.doneCh }

// Err returns why the connection ended once Done is closed: an error wrapping
// ErrConnectionClosed, or nil after a local graceful close. Before Done it returns nil.
func (c *CallConnection) Err() error {
	if !isClosed(c.doneCh) {
		return nil
	}
	return c.err
}

// Draining reports whether the connection is closing or closed, or the remote announced its own
// shutdown (CALLP-R127). Once true it stays true. With Done it implements registry.Liveness.
func (c *CallConnection) Draining() bool { return c.draining.Load() }

// Answered reports whether the peer has sent this side a request (or opened a stream to send
// one), so that an answer this side wrote may still be in flight when the connection closes.
// A dialing client that only called the peer can close at once; one that answered should let
// its last answers reach the peer first (CALLP-R82).
func (c *CallConnection) Answered() bool { return c.answered.Load() }

var _ registry.Liveness = (*CallConnection)(nil)

// Identity returns a copy of the connection's default caller identity (CALLP-R5); nil when
// anonymous.
func (c *CallConnection) Identity() *auth.Identity { return cloneIdentity(c.identity) }

// PeerID returns the connection's routing peer id; ok is false unless the connection was attached
// with WithConnIdentity and a peer identity (CALLP-R5).
func (c *CallConnection) PeerID() (registry.PeerID, bool) { return c.peerID, c.peerID != "" }

// RemoteFingerprint returns the canonical fingerprint the remote presented in TLS, "" when none
// (CALLP-R157).
func (c *CallConnection) RemoteFingerprint() string { return c.remoteFP }

// RemoteAddr returns the underlying connection's remote address; nil when unknown.
func (c *CallConnection) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Imported returns this connection's Layer 2 set (REG-R19); it is closed when the connection
// ends.
func (c *CallConnection) Imported() *registry.ImportedSet { return c.imported }
