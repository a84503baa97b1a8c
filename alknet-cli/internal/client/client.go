// Package client is the one-shot call client of `alknet call`, `subscribe` and `ops` (cli.md
// §7.8, CLI-R36, CLI-R37, CLI-R73, CLI-R74): the call module's CallClient on a dispatcher with
// an empty registry and no identity provider, so calls the server makes back are answered
// NOT_FOUND and the server is verified by its pinned fingerprints alone.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/alknet/alknet/alknet-call/callerr"
	callclient "github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	coreconfig "github.com/alknet/alknet/alknet-core/config"
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
	cl *callclient.CallClient
	cc *protocol.CallConnection
}

// Dial connects through the call module's CallClient on a dispatcher of its own whose registry
// is empty (CLI-R74). A certificate that matches no pin is SERVER_UNTRUSTED (exit 9) naming the
// presented fingerprint; every other dial failure, including the connect timeout, is
// CONNECT_FAILED (exit 9) (CLI-R62).
func Dial(ctx context.Context, o Options) (*Client, error) {
	if len(o.Pins) == 0 {
		return nil, output.Errorf(output.CodeUsage, "no fingerprint to verify the server at %s", o.Addr).
			WithHint("pass --pin FINGERPRINT, or --peer ID for a configured peer")
	}
	ct := o.ConnectTimeout
	if ct <= 0 {
		ct = 10 * time.Second
	}
	empty, err := registry.NewBuilder().Build()
	if err != nil {
		return nil, err
	}
	d := &protocol.Dispatcher{Invoker: empty, Options: protocol.Options{CallTimeout: o.CallTimeout, Logger: o.Logger}}
	opts := []callclient.Option{callclient.WithQUICSettings(o.QUIC)}
	if o.Logger != nil {
		opts = append(opts, callclient.WithLogger(o.Logger))
	}
	cl := callclient.New(d, opts...)
	dctx, cancel := context.WithTimeout(ctx, ct)
	defer cancel()
	cc, err := cl.Connect(dctx, o.Addr, callclient.CallCredentials{
		TLS: o.Identity, AuthToken: o.Token, RemoteIdentity: &callclient.RemoteIdentity{Fingerprints: o.Pins},
	})
	if err != nil {
		_ = cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ce, _ := errors.AsType[*callclient.ClientError](err)
		switch {
		case ce != nil && ce.Kind == callclient.ErrKindRemoteIdentityMismatch:
			return nil, output.Errorf(output.CodeServerUntrusted, "the server at %s is not the expected node: %v", o.Addr, output.Classify(ce.Err).Message).
				WithHint("check --pin (or the peer entry); if the node's key changed on purpose, update the pin").
				WithDetail("cause_code", string(alkerr.CodeTLSPeerMismatch))
		case ce != nil && ce.Kind == callclient.ErrKindTLSSetup:
			return nil, output.Errorf(output.CodeInvalidInput, "cannot use the pins or credentials: %v", ce.Err)
		}
		e := output.Errorf(output.CodeConnectFailed, "cannot connect to %s: %v", o.Addr, err).
			WithHint("check that the node runs and listens there (alknet serve), and the address and port")
		if code := alkerr.CodeOf(err); code != "" {
			e.WithDetail("cause_code", string(code))
		}
		return nil, e
	}
	return &Client{cl: cl, cc: cc}, nil
}

// Call runs one request; errors are mapped by MapError.
func (c *Client) Call(ctx context.Context, op string, input json.RawMessage, opts ...protocol.CallOption) (json.RawMessage, error) {
	var in any = input
	if len(input) == 0 {
		in = nil // JSON null
	}
	out, err := c.cc.Call(ctx, op, in, opts...)
	if err != nil {
		return nil, MapError(ctx, err)
	}
	return out, nil
}

// Subscribe opens a subscription.
func (c *Client) Subscribe(ctx context.Context, op string, input json.RawMessage, opts ...protocol.CallOption) (*protocol.Subscription, error) {
	var in any = input
	if len(input) == 0 {
		in = nil // JSON null
	}
	s, err := c.cc.Subscribe(ctx, op, in, opts...)
	if err != nil {
		return nil, MapError(ctx, err)
	}
	return s, nil
}

// Close ends the connection and waits for the engine (CLI-R73, CLNT-R12).
func (c *Client) Close() error { return c.cl.Close() }

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
