package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alknet/alknet/alknet-call/client"
	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-core/conn"
)

// pipes makes CallConnections over net.Pipe for Supervise tests and tears them all down.
type pipes struct {
	t     *testing.T
	d     *protocol.Dispatcher
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*conn.Connection
}

// dial returns a served CallConnection whose remote end is served too.
func (p *pipes) dial() *protocol.CallConnection {
	p1, p2 := net.Pipe()
	c1 := conn.NewStreamConn(p1, protocol.ALPN, nil)
	c2 := conn.NewStreamConn(p2, protocol.ALPN, nil)
	a, b := p.d.Attach(c1), p.d.Attach(c2)
	p.mu.Lock()
	p.conns = append(p.conns, c1, c2)
	p.mu.Unlock()
	for _, cc := range []*protocol.CallConnection{a, b} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = cc.Serve(context.Background())
		}()
	}
	return a
}

func (p *pipes) close() {
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close(0, "")
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Test 94, failing dials: the first dial has no delay; each gap is at most its cap; caps double
// from Min to Max and stay there; the gaps are jittered, not zero [CLNT-R11].
func TestSuperviseCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		var times []time.Time
		failure := errors.New("unreachable")
		err := client.Supervise(ctx, func(context.Context) (*protocol.CallConnection, error) {
			times = append(times, time.Now())
			if len(times) == 51 {
				cancel()
			}
			return nil, failure
		}, client.Backoff{Min: time.Second, Max: 8 * time.Second})
		if err != nil {
			t.Fatalf("Supervise = %v", err)
		}
		if !times[0].Equal(start) {
			t.Errorf("first dial after %v", times[0].Sub(start))
		}
		var sumGaps, sumCaps time.Duration
		limit := time.Second
		for i := 1; i < len(times); i++ {
			gap := times[i].Sub(times[i-1])
			if gap > limit {
				t.Errorf("gap %d = %v, above its cap %v", i, gap, limit)
			}
			sumGaps += gap
			sumCaps += limit
			limit = min(2*limit, 8*time.Second)
		}
		if sumGaps*4 <= sumCaps {
			t.Errorf("gaps sum to %v, caps to %v: not full jitter", sumGaps, sumCaps)
		}
	})
}

// Test 94, live connections: one that stayed up ResetAfter resets the cap to Min, one that ended
// sooner doubles it; cancelling ctx during a live connection returns nil promptly and tells the
// connection to close; zero Backoff fields take the defaults [CLNT-R11].
func TestSuperviseReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipes{t: t, d: &protocol.Dispatcher{Invoker: registryWith(t, "", nil)}}
		defer p.close()
		ctx, cancel := context.WithCancel(t.Context())
		var times []time.Time
		lives := make(chan *protocol.CallConnection, 8)
		done := make(chan error, 1)
		go func() {
			done <- client.Supervise(ctx, func(context.Context) (*protocol.CallConnection, error) {
				times = append(times, time.Now())
				switch len(times) {
				case 1, 2, 3, 4, 7: // failures: caps 1, 2, 4, 8 s; after the short-lived connection 2 s
					return nil, errors.New("unreachable")
				}
				cc := p.dial()
				lives <- cc
				return cc, nil
			}, client.Backoff{Min: time.Second, Max: 60 * time.Second, ResetAfter: 10 * time.Second})
		}()
		long := <-lives // dial 5
		time.Sleep(10 * time.Second)
		_ = long.Close()
		short := <-lives // dial 6: after a gap of at most Min, since the cap was reset
		_ = short.Close()
		last := <-lives // dial 8
		synctest.Wait()
		if len(times) != 8 {
			t.Fatalf("%d dials", len(times))
		}
		if gap := times[5].Sub(times[4]) - 10*time.Second; gap > time.Second {
			t.Errorf("gap after a long connection = %v, want ≤ Min (the cap was reset)", gap)
		}
		if gap := times[7].Sub(times[6]); gap > 2*time.Second {
			t.Errorf("gap after a short connection and a failure = %v, want ≤ 2 s", gap)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Supervise = %v", err)
		}
		<-last.Done() // told to close
	})
}
