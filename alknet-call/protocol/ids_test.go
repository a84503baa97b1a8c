package protocol_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/alknet/alknet/alknet-call/protocol"
)

// T-CALLP-32 (CALLP-R62): registering an id that is already pending fails with ErrDuplicateID
// before anything is written, and the request that holds the id is not disturbed. Once it has
// ended, the id may be used again (CALLP-R61).
func TestDuplicatePendingID(t *testing.T) {
	t.Parallel()
	started, release, cause := make(chan struct{}, 2), make(chan struct{}), make(chan error, 2)
	reg := newRegistry(t, ops{"x/block": blocker(started, release, cause), "x/echo": echo()}, nil)
	d1 := &protocol.Dispatcher{Invoker: newRegistry(t, ops{}, nil)}
	d2 := &protocol.Dispatcher{Invoker: reg}
	c, acc, _, _ := pair(t, d1, d2, nil, nil)

	first := make(chan error, 1)
	go func() {
		out, err := c.Call(t.Context(), "x/block", 1, protocol.WithFixedRequestID("same-id"))
		if err == nil && string(out) != "1" {
			err = errors.New("wrong output " + string(out))
		}
		first <- err
	}()
	<-started
	if _, err := c.Call(t.Context(), "x/echo", 2, protocol.WithFixedRequestID("same-id")); !errors.Is(err, protocol.ErrDuplicateID) {
		t.Fatalf("second call with a pending id = %v, want ErrDuplicateID", err)
	}
	if _, err := c.Subscribe(t.Context(), "x/echo", 2, protocol.WithFixedRequestID("same-id")); !errors.Is(err, protocol.ErrDuplicateID) {
		t.Fatalf("subscription with a pending id = %v, want ErrDuplicateID", err)
	}
	if p, s := acc.Tables(); s != 1 || p != 0 {
		t.Fatalf("served side holds %d served / %d pending, want only the first request", s, p)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
	waitEmpty(t, c, acc)
	out, err := c.Call(t.Context(), "x/echo", json.RawMessage(`3`), protocol.WithFixedRequestID("same-id"))
	if err != nil || string(out) != "3" {
		t.Fatalf("reusing the id after the request ended = %s, %v", out, err)
	}
}
