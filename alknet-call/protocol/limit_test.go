package protocol_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/quictransport"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// T-CALLP-62: a QUIC peer whose stream limit is exhausted does not switch the engine to
// single-stream mode: Call blocks in OpenBi until its deadline and returns TIMEOUT (§9.6).
func TestStreamLimitIsNotSingleStream(t *testing.T) {
	t.Parallel()
	id, pin := coretest.NewIdentity(t)
	tlsConf, err := tlsconf.ServerConfig(id, []string{protocol.ALPN})
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(tlsConf, &quic.Config{MaxIncomingStreams: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close(); _ = tr.Close(); _ = udp.Close() })
	accepted := make(chan *quic.Conn, 1)
	go func() {
		qc, err := ln.Accept(context.WithoutCancel(t.Context()))
		if err == nil {
			accepted <- qc
		}
		close(accepted)
	}()
	cl, err := quictransport.Dial(t.Context(), udp.LocalAddr().String(), tlsconf.ClientOptions{ALPN: protocol.ALPN, PinnedFingerprints: []string{pin}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close(0, "") })
	server := <-accepted
	t.Cleanup(func() { _ = server.CloseWithError(0, "") })
	// Hold the peer's only stream credit.
	held, err := cl.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	c := (&protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}).Attach(cl)
	serve(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Call(ctx, "x/echo", nil)
	if ce, ok := errors.AsType[*callerr.CallError](err); !ok || ce.Code != callerr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want the local TIMEOUT", err)
	}
	held.Reset(0)
}
