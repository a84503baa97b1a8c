package client

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/alknet/alknet/alknet-call/protocol"
)

// Backoff shapes the delays of [Supervise] (CLNT-R11). Zero fields take the defaults shown.
type Backoff struct {
	Min        time.Duration // delay cap after the first failure; 0 = 1s
	Max        time.Duration // largest cap; 0 = 60s; a Max below Min is raised to Min
	ResetAfter time.Duration // a connection that stayed up this long resets the cap to Min; 0 = 30s
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max <= 0 {
		b.Max = 60 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = 30 * time.Second
	}
	return b
}

// Supervise keeps one connection dialled until ctx ends (CLNT-R11). It runs on the caller's
// goroutine and starts none of its own: it dials (the first time without delay), waits for the
// connection's end, and after a failed dial or an ended connection sleeps a delay drawn uniformly
// from [0, cap] before dialling again. cap starts at b.Min, doubles after every failed dial and
// every connection that ended before b.ResetAfter, never exceeds b.Max, and is reset to b.Min by a
// connection that stayed up at least b.ResetAfter. When ctx ends it closes the live connection, if
// any, without waiting, and returns nil.
func Supervise(ctx context.Context, dial func(ctx context.Context) (*protocol.CallConnection, error), b Backoff) error {
	b = b.withDefaults()
	limit := b.Min
	for {
		cc, err := dial(ctx)
		if ctx.Err() != nil {
			if err == nil && cc != nil {
				_ = cc.Close()
			}
			return nil
		}
		grow := true
		if err == nil && cc != nil {
			up := time.Now()
			select {
			case <-cc.Done():
			case <-ctx.Done():
				_ = cc.Close()
				return nil
			}
			if time.Since(up) >= b.ResetAfter {
				limit, grow = b.Min, false
			}
		}
		delay := time.Duration(rand.Int64N(int64(limit) + 1))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		if grow {
			limit = min(2*limit, b.Max)
		}
	}
}
