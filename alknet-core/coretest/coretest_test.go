package coretest_test

import (
	"context"
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
)

// The helpers start endpoints, accept loops and connections; every goroutine they start must
// be gone once their cleanups ran (§17.1).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoOnce echoes the first stream of each connection, then returns nil (close code 0x00).
type echoOnce struct{}

func (echoOnce) ALPN() string { return "alknet/test-echo" }
func (echoOnce) Handle(ctx context.Context, c *conn.Connection, _ auth.AuthContext) error {
	s, err := c.AcceptBi(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = io.Copy(s, s)
	return err
}

// §17.1: a node on 127.0.0.1:0 with its pin, a dialled connection presenting a client
// identity that the node resolves to a peer, and CloseCode reporting the endpoint's close.
func TestNodeDialCloseCode(t *testing.T) {
	t.Parallel()
	client, clientFP := coretest.NewIdentity(t)
	n := coretest.StartNode(t, coretest.NodeOptions{
		Handlers: []handler.ProtocolHandler{echoOnce{}},
		Dynamic: config.DynamicConfig{Auth: auth.AuthPolicy{Peers: []auth.PeerEntry{
			{PeerID: "worker-a", Fingerprints: []string{clientFP}, Scopes: []string{"relay:connect"}},
		}}},
	})
	if id, ok := n.Dynamic.Policy().ResolveFingerprint(clientFP); !ok || id.ID != "worker-a" {
		t.Fatalf("node policy resolves the client to %+v, %v", id, ok)
	}
	c := n.Dial(t, "alknet/test-echo", &client)
	s, err := c.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	s.Close()
	if code, reason, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseNormal || reason != "done" {
		t.Fatalf("CloseCode = %#x %q %v, want 0x00 done", code, reason, ok)
	}
}

// §17.1: Pair connects two ends directly; a stream opened on one is accepted on the other,
// and Recv returns what a goroutine sends.
func TestPairAndRecv(t *testing.T) {
	t.Parallel()
	client, server := coretest.Pair(t, "alknet/test-pair")
	accepted := make(chan []byte, 1)
	go func() {
		s, err := server.AcceptBi(t.Context())
		if err != nil {
			accepted <- nil
			return
		}
		defer s.Close()
		b, _ := io.ReadAll(s)
		accepted <- b
	}()
	s, err := client.OpenBi(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got := coretest.Recv(t, accepted, "the server's read of the stream"); string(got) != "hello" {
		t.Fatalf("server read %q, want hello", got)
	}
	s.Close()
	if client.SingleStream() || server.SingleStream() {
		t.Fatal("a QUIC pair reports SingleStream")
	}
}
