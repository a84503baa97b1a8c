// Package client is the one-shot call client of `alknet call`, `subscribe` and `ops` (cli.md
// §7.8, CLI-R36, CLI-R37, CLI-R73, CLI-R74): it dials one alknet/call connection, verifies the
// server by pinned fingerprints only, and runs the call protocol engine with an empty registry,
// so calls the server makes back are answered NOT_FOUND and the server sees an anonymous
// remote unless a client certificate is presented.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	coreconfig "github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// Options describe one connection.
type Options struct {
	Addr           string            // HOST:PORT
	Pins           []string          // accepted server fingerprints; required (D7)
	Identity       *tlsconf.Identity // presented as client certificate (--as-node); nil = none
	Token          auth.AuthToken    // bearer token sent with every request; zero = none
	CallTimeout    time.Duration     // engine default deadline (--timeout)
	ConnectTimeout time.Duration     // bound on the dial and handshake; 0 = 10s
	QUIC           coreconfig.QUICSettings
	Logger         *slog.Logger
}

// Client is one dialled connection. Close it; Close returns after the engine's goroutines
// ended, which includes sending a pending abort (CLI-R73).
type Client struct {
	cc    *protocol.CallConnection
	token auth.AuthToken
	done  chan struct{} // closed when Serve returned
}

// Dial connects and starts the engine. A certificate that matches no pin is SERVER_UNTRUSTED
// (exit 9) naming the presented fingerprint; every other dial failure, including the connect
// timeout, is CONNECT_FAILED (exit 9) (CLI-R62).
func Dial(ctx context.Context, o Options) (*Client, error) {
	if len(o.Pins) == 0 {
		return nil, output.Errorf(output.CodeUsage, "no fingerprint to verify the server at %s", o.Addr).
			WithHint("pass --pin FINGERPRINT, or --peer ID for a configured peer")
	}
	ct := o.ConnectTimeout
	if ct <= 0 {
		ct = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, ct)
	defer cancel()
	c, err := quictransport.Dial(dctx, o.Addr, tlsconf.ClientOptions{
		ALPN: protocol.ALPN, Local: o.Identity, PinnedFingerprints: o.Pins,
	}, quictransport.ClientConfig(o.QUIC))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if alkerr.CodeOf(err) == alkerr.CodeTLSPeerMismatch {
			return nil, output.Errorf(output.CodeServerUntrusted, "the server at %s is not the expected node: %v", o.Addr, output.Classify(err).Message).
				WithHint("check --pin (or the peer entry); if the node's key changed on purpose, update the pin").
				WithDetail("cause_code", string(alkerr.CodeTLSPeerMismatch))
		}
		e := output.Errorf(output.CodeConnectFailed, "cannot connect to %s: %v", o.Addr, err).
			WithHint("check that the node runs and listens there (alknet serve), and the address and port")
		if code := alkerr.CodeOf(err); code != "" {
			e.WithDetail("cause_code", string(code))
		}
		return nil, e
	}
	empty, err := registry.NewBuilder().Build()
	if err != nil {
		_ = c.Close(0, "")
		return nil, err
	}
	d := &protocol.Dispatcher{Invoker: empty, Options: protocol.Options{CallTimeout: o.CallTimeout, Logger: o.Logger}}
	cl := &Client{cc: d.Attach(c), token: o.Token, done: make(chan struct{})}
	go func() {
		defer close(cl.done)
		_ = cl.cc.Serve(context.WithoutCancel(ctx))
	}()
	return cl, nil
}

func (cl *Client) callOpts() []protocol.CallOption {
	if cl.token.Len() == 0 {
		return nil
	}
	return []protocol.CallOption{protocol.WithAuthToken(cl.token)}
}

// Call runs one request; errors are mapped by MapError.
func (cl *Client) Call(ctx context.Context, op string, input json.RawMessage, opts ...protocol.CallOption) (json.RawMessage, error) {
	out, err := cl.cc.Call(ctx, op, input, append(cl.callOpts(), opts...)...)
	if err != nil {
		return nil, MapError(ctx, err)
	}
	return out, nil
}

// Subscribe opens a subscription.
func (cl *Client) Subscribe(ctx context.Context, op string, input json.RawMessage, opts ...protocol.CallOption) (*protocol.Subscription, error) {
	s, err := cl.cc.Subscribe(ctx, op, input, append(cl.callOpts(), opts...)...)
	if err != nil {
		return nil, MapError(ctx, err)
	}
	return s, nil
}

// Close ends the connection and waits for the engine (CLI-R73).
func (cl *Client) Close() error {
	err := cl.cc.Close()
	<-cl.done
	return err
}

// MapError maps an error after the connection was established (CLI-R62): the command's own
// cancellation is INTERRUPTED; remote NOT_FOUND, FORBIDDEN and TIMEOUT keep their names; the
// local deadline is TIMEOUT; a lost connection and a retryable remote INTERNAL (shutting down)
// are CONNECTION_LOST; an abort answer and every other remote code are REMOTE_ERROR with
// details.remote_code.
func MapError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &output.Error{Code: output.CodeInterrupted, Message: "interrupted; the request was aborted on the server", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return output.Errorf(output.CodeTimeout, "the request did not finish in time").WithHint("raise --timeout")
	}
	if errors.Is(err, protocol.ErrConnectionClosed) {
		return output.Errorf(output.CodeConnectionLost, "the connection to the node was lost").WithHint("retry later")
	}
	if errors.Is(err, callerr.ErrAborted) {
		return output.Errorf(output.CodeRemoteError, "the server aborted the request").WithDetail("remote_code", "ABORTED")
	}
	ce, ok := errors.AsType[*callerr.CallError](err)
	if !ok {
		return output.Errorf(output.CodeConnectionLost, "the request failed: %v", err).WithHint("retry later")
	}
	msg := "the node answered " + ce.Code + ": " + ce.Message
	var e *output.Error
	switch ce.Code {
	case callerr.NotFound:
		e = &output.Error{Code: output.CodeNotFound, Message: msg, Hint: "`alknet ops list` shows the operations you may call"}
	case callerr.Forbidden:
		e = &output.Error{Code: output.CodeForbidden, Message: msg, Hint: "call with a token (--token-file) or --as-node whose grants allow this operation"}
	case callerr.Timeout:
		e = &output.Error{Code: output.CodeTimeout, Message: msg, Hint: "raise --timeout, or the server's call.default_timeout"}
	case callerr.Internal:
		if ce.Retryable { // "shutting down" (CALLP-R82)
			e = &output.Error{Code: output.CodeConnectionLost, Message: msg, Hint: "the node is shutting down; retry later"}
		} else {
			e = &output.Error{Code: output.CodeRemoteError, Message: msg}
		}
	default:
		e = &output.Error{Code: output.CodeRemoteError, Message: msg}
	}
	e.WithDetail("remote_code", ce.Code)
	if len(ce.Details) > 0 {
		var d any
		if json.Unmarshal(ce.Details, &d) == nil {
			e.WithDetail("remote_details", d)
		}
	}
	return e
}
