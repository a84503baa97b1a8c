package sqlitestore_test

import (
	"context"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/endpoint"
	"github.com/alknet/alknet/alknet-core/handler"
	"github.com/alknet/alknet/alknet-core/quictransport"
)

// holdHandler reports the identity of each connection and holds it until it closes.
type holdHandler struct {
	entered chan string // receives the resolved peer id ("" for anonymous)
}

func (h holdHandler) ALPN() string { return "alknet/hold" }
func (h holdHandler) Handle(ctx context.Context, c *conn.Connection, a auth.AuthContext) error {
	id := ""
	if a.Identity != nil {
		id = a.Identity.ID
	}
	h.entered <- id
	select {
	case <-ctx.Done():
	case <-c.Done():
	}
	return nil
}

// PSTORE-T40: a peer disabled by another process loses its live connection (CORE-R440).
func TestLiveRevocationThroughEndpoint(t *testing.T) {
	t.Parallel()
	s, p := newStore(t)
	client, clientFP := coretest.NewIdentity(t)
	if err := s.Identities().PutPeer(t.Context(), peer("worker-a", clientFP)); err != nil {
		t.Fatal(err)
	}
	h := holdHandler{entered: make(chan string, 1)}
	n := coretest.StartNode(t, coretest.NodeOptions{Handlers: []handler.ProtocolHandler{h}, Identities: s.Identities()})
	c, err := quictransport.Dial(t.Context(), n.Addr, n.DialOptions("alknet/hold", &client), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	if id := <-h.entered; id != "worker-a" {
		t.Fatalf("connection resolved to %q, want worker-a", id)
	}
	helper := startHelper(t, "steps", p, "", 0)
	helper.send(t, "disable worker-a")
	helper.next(t, "ok")
	if code, _, ok := coretest.CloseCode(t, c); !ok || code != endpoint.CloseAuthRequired {
		t.Fatalf("connection of a disabled peer closed with %#x (ok=%v), want CloseAuthRequired", code, ok)
	}
	helper.send(t, "quit")
	helper.wait(t)
}
