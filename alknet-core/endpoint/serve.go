package endpoint

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
)

func fingerprintOf(leaf *x509.Certificate) string { return fingerprint.FromCertificate(leaf) }

// serve runs the per-connection sequence from the rate limit on (CORE-R411): count the IP,
// look up the handler, resolve the fingerprint, build the AuthContext, call Handle, close.
func (e *Endpoint) serve(lc *liveConn, fp string) {
	c := lc.c
	alpn := c.ALPN()
	start := time.Now()

	if ip, ok := ipOf(c.RemoteAddr()); ok {
		limit := 0
		if e.dyn != nil {
			limit = e.dyn.Current().RateLimits.MaxConnectionsPerIP
		}
		e.mu.Lock()
		if limit > 0 && e.perIP[ip] >= limit {
			e.mu.Unlock()
			// Log before closing, so whoever sees Done also finds the record.
			e.log.LogAttrs(context.Background(), slog.LevelInfo, "connection refused: too many connections from one IP",
				slog.Uint64("conn", lc.seq), slog.String("remote", ip.String()), slog.Int("limit", limit))
			_ = c.Close(CloseRateLimited, CloseReason(CloseRateLimited))
			return
		}
		e.perIP[ip]++
		lc.ip, lc.counted = ip, true
		e.mu.Unlock()
	}

	if alpn == handler.ALPNACME {
		_ = c.Close(CloseNormal, CloseReason(CloseNormal))
		return
	}
	h, ok := e.reg.Lookup(alpn)
	if !ok {
		e.log.LogAttrs(context.Background(), slog.LevelWarn, "connection closed: no handler for ALPN",
			slog.Uint64("conn", lc.seq), slog.String("alpn", fmt.Sprintf("%q", alpn)), slog.String("remote", addrString(c.RemoteAddr())))
		_ = c.Close(CloseNoHandler, CloseReason(CloseNoHandler))
		return
	}

	// Take the change channel before resolving, so a change racing the resolution is seen
	// (CORE-R441).
	var changed <-chan struct{}
	if e.notifier != nil {
		changed = e.notifier.Changed()
	}
	id := e.resolve(fp)
	e.mu.Lock()
	lc.fp, lc.id = fp, id
	e.mu.Unlock()
	if fp != "" && isClosed(changed) && e.revoked(fp, id) {
		e.closeRevoked(lc, fp, id)
		return
	}

	a := auth.AuthContext{ALPN: alpn, RemoteAddr: c.RemoteAddr(), TLSClientFingerprint: fp}
	peerID := ""
	if id != nil {
		hid := id.Clone()
		a.Identity = &hid
		peerID = id.ID
	}
	e.logAccepted(lc.seq, c, fp, peerID)

	err, panicked := e.callHandle(h, c, a, lc.seq)
	closedBefore := isClosed(c.Done())
	code, level := CloseInternalError, slog.LevelError
	if !panicked {
		code, level = classify(err, e.baseCtx.Err() != nil)
	}
	if closedBefore && !panicked {
		level = slog.LevelDebug // CORE-R208(b): the peer left, a timeout or a revocation came first
	}
	clean := !panicked && (err == nil || errors.Is(err, conn.ErrConnectionClosed) || errors.Is(err, context.Canceled))
	if clean && !closedBefore && !c.SingleStream() {
		e.linger(c)
	}
	e.logEnded(level, lc.seq, alpn, peerID, code, closedBefore, time.Since(start), err)
	_ = c.Close(code, CloseReason(code))
}

// logAccepted and logEnded keep their attribute arrays out of serve's stack frame, which
// stays live (and on the stack) for the connection's whole life.
//
//go:noinline
func (e *Endpoint) logAccepted(seq uint64, c *conn.Connection, fp, peerID string) {
	if !e.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	e.log.LogAttrs(context.Background(), slog.LevelDebug, "connection accepted",
		slog.Uint64("conn", seq), slog.String("remote", addrString(c.RemoteAddr())), slog.String("alpn", c.ALPN()),
		slog.String("fingerprint", fp), slog.String("peer_id", peerID))
}

//go:noinline
func (e *Endpoint) logEnded(level slog.Level, seq uint64, alpn, peerID string, code uint64, closedBefore bool, d time.Duration, err error) {
	if !e.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.Uint64("conn", seq), slog.String("alpn", alpn), slog.String("peer_id", peerID),
		slog.Uint64("close_code", code), slog.Bool("closed_by_peer_or_earlier", closedBefore),
		slog.Duration("duration", d),
	}
	if err != nil && code != CloseAuthRequired {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	e.log.LogAttrs(context.Background(), level, "connection ended", attrs...)
}

// linger gives the data a handler wrote before its clean return time to reach the peer: a
// QUIC CONNECTION_CLOSE discards stream data not yet sent or acknowledged, so the endpoint
// waits for the peer to close first, but no longer than a few probe timeouts of the
// connection's measured round trip (enough for the data and two retransmissions), and never
// longer than the drain timeout. Shutdown step 4 ends the wait by closing the connection.
// Single-stream connections need no linger: closing a byte stream does not discard what was
// written, and their Done fires only on a local close (CORE-R327).
func (e *Endpoint) linger(c *conn.Connection) {
	d := e.static.DrainTimeout
	if qc, ok := quictransport.Underlying(c); ok {
		st := qc.ConnectionStats()
		pto := st.SmoothedRTT + 4*st.MeanDeviation + maxAckDelay
		d = min(d, max(minLinger, 3*pto))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
	}
}

// Linger bounds: QUIC's default max_ack_delay (RFC 9000 §18.2) and a floor for connections
// whose round trip has barely been measured.
const (
	maxAckDelay = 25 * time.Millisecond
	minLinger   = 100 * time.Millisecond
)

// callHandle runs Handle and recovers a panic (CORE-R413).
func (e *Endpoint) callHandle(h handler.ProtocolHandler, c *conn.Connection, a auth.AuthContext, seq uint64) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			e.log.LogAttrs(context.Background(), slog.LevelError, "handler panicked",
				slog.Uint64("conn", seq), slog.String("alpn", a.ALPN),
				slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
		}
	}()
	return h.Handle(e.baseCtx, c, a), false
}

// classify maps Handle's result to a close code and log level (CORE-R204, R208, R209). The
// rows are tested top to bottom.
func classify(err error, shuttingDown bool) (uint64, slog.Level) {
	switch {
	case err == nil || errors.Is(err, conn.ErrConnectionClosed):
		if shuttingDown {
			return CloseShutdown, slog.LevelDebug
		}
		return CloseNormal, slog.LevelDebug
	case errors.Is(err, auth.ErrAuthRequired):
		return CloseAuthRequired, slog.LevelInfo
	case isTransportErr(err):
		return CloseNormal, slog.LevelWarn
	case errors.Is(err, context.Canceled) && shuttingDown:
		return CloseShutdown, slog.LevelDebug
	}
	return CloseInternalError, slog.LevelError
}

func isTransportErr(err error) bool {
	var ne net.Error
	return errors.Is(err, conn.ErrStreamClosed) || errors.Is(err, conn.ErrTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}

func isClosed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// resolve returns the endpoint's own copy of the identity for fp, or nil.
func (e *Endpoint) resolve(fp string) *auth.Identity {
	if fp == "" {
		return nil
	}
	id, ok := e.ids.ResolveFingerprint(e.baseCtx, fp)
	if !ok {
		return nil
	}
	cp := id.Clone()
	return &cp
}

// revoked reports whether fp no longer resolves to an identity with the same grants as had
// (CORE-R440, CORE-R1015).
// revoked reports whether fp no longer resolves to what the connection was admitted as
// (CORE-R440): a recognized key that stopped resolving or changed grants, or a key that was
// unknown at connect time and now resolves to a peer (the client reconnects as that peer).
func (e *Endpoint) revoked(fp string, had *auth.Identity) bool {
	now := e.resolve(fp)
	if had == nil {
		return now != nil
	}
	return now == nil || !had.SameGrants(*now)
}

func (e *Endpoint) closeRevoked(lc *liveConn, fp string, had *auth.Identity) {
	if had == nil {
		e.log.LogAttrs(context.Background(), slog.LevelInfo, "connection closed: anonymous key now admitted",
			slog.Uint64("conn", lc.seq), slog.String("fingerprint", fp))
	} else {
		e.log.LogAttrs(context.Background(), slog.LevelInfo, "connection closed: credentials revoked",
			slog.Uint64("conn", lc.seq), slog.String("peer_id", had.ID), slog.String("fingerprint", fp))
	}
	_ = lc.c.Close(CloseAuthRequired, CloseReason(CloseAuthRequired))
}

// addrString formats a possibly nil address for logs.
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// watch re-checks live connections after every identity change until shutdown step 1
// (CORE-R441). It owns no lock across provider calls.
func (e *Endpoint) watch() {
	defer close(e.watchDone)
	ch := e.notifier.Changed()
	for {
		select {
		case <-ch:
		case <-e.watchStop:
			return
		}
		// Take the next channel before re-checking, so a change made while the re-check runs
		// is never missed.
		ch = e.notifier.Changed()
		e.recheck()
	}
}

func (e *Endpoint) recheck() {
	type entry struct {
		lc *liveConn
		fp string
		id *auth.Identity
	}
	e.mu.Lock()
	var list []entry
	for lc := range e.live {
		if lc.fp != "" {
			list = append(list, entry{lc, lc.fp, lc.id})
		}
	}
	e.mu.Unlock()
	for _, en := range list {
		if e.revoked(en.fp, en.id) {
			e.closeRevoked(en.lc, en.fp, en.id)
		}
	}
}

// Shutdown stops the endpoint (CORE-R450): it closes the listener and stops the revocation
// watcher, cancels every handler's ctx, waits until the handlers returned or the drain timeout
// passed or ctx ended, closes what is left with [CloseShutdown] and waits for it (bounded by
// ctx), then closes the QUIC transport and the UDP socket. It runs once; concurrent and later
// callers wait for the same completion (CORE-R451). It returns nil, or ctx.Err() when ctx
// ended before the sequence finished (stragglers are logged by count).
func (e *Endpoint) Shutdown(ctx context.Context) error {
	if e.begin() {
		e.runShutdown(ctx, false)
		return e.shutErr
	}
	// A finished sequence reports its own result, even to a caller whose ctx is also done
	// (select alone would pick between the two at random).
	select {
	case <-e.shutDone:
		return e.shutErr
	default:
	}
	select {
	case <-e.shutDone:
		return e.shutErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// begin marks the start of shutdown and reports whether this caller runs the sequence.
func (e *Endpoint) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.closing = true
	e.maybeDrainedLocked()
	return true
}

// runShutdown runs the sequence of [Endpoint.Shutdown]; only the caller of a successful begin
// runs it. bounded limits the force-close wait (step 4) by the drain timeout, for Serve's ctx,
// which carries no deadline of its own (CORE-R453).
func (e *Endpoint) runShutdown(ctx context.Context, bounded bool) {

	// Step 1: no new connections, no more revocation checks.
	_ = e.ln.Close()
	close(e.watchStop)
	if e.watchDone != nil {
		<-e.watchDone
	}
	// Step 2: handlers stop taking new work.
	e.cancelBase(ErrClosed)
	// Step 3: wait for handlers to finish.
	var err error
	if !e.waitDrained(ctx, e.static.DrainTimeout) {
		// Step 4: force-close what is left.
		e.mu.Lock()
		left := make([]*liveConn, 0, len(e.live))
		for lc := range e.live {
			left = append(left, lc)
		}
		e.mu.Unlock()
		for _, lc := range left {
			_ = lc.c.Close(CloseShutdown, CloseReason(CloseShutdown))
		}
		e.log.LogAttrs(context.Background(), slog.LevelWarn, "drain timeout: force-closing connections",
			slog.Int("connections", len(left)))
		limit := time.Duration(0)
		if bounded {
			limit = e.static.DrainTimeout
		}
		if !e.waitDrained(ctx, limit) {
			e.mu.Lock()
			n := len(e.live)
			e.mu.Unlock()
			e.log.LogAttrs(context.Background(), slog.LevelError, "shutdown cut short: connection handlers still running",
				slog.Int("connections", n))
			err = ctx.Err()
			if err == nil {
				err = context.DeadlineExceeded
			}
		}
	}
	if err == nil {
		e.wg.Wait()
	}
	// Step 5: the transport does not close a socket it was handed, so close both.
	_ = e.tr.Close()
	_ = e.udp.Close()
	e.shutErr = err
	close(e.shutDone)
}

// waitDrained waits until every connection goroutine ended, ctx ended, or limit (if > 0)
// passed, and reports whether all ended.
func (e *Endpoint) waitDrained(ctx context.Context, limit time.Duration) bool {
	var timeout <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-e.drained:
		return true
	case <-ctx.Done():
	case <-timeout:
	}
	return isClosed(e.drained)
}
