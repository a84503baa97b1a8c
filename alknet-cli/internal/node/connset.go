package node

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/alknet/alknet/alknet-cli/internal/builtin"
	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/connector"
)

// connectorSet runs the [[connect]] entries; a reload adds and removes entries (a changed
// entry is a removal plus an addition, cli.md §4.3). Each connector is one goroutine owned by
// serve, cancelled and joined when removed or at shutdown (CLI-R47).
type connectorSet struct {
	ctx     context.Context // parent of every connector's context
	newConn func(config.Connect) *connector.Connector

	mu      sync.Mutex
	running []*runningConn // guarded by mu; in configuration order
}

type runningConn struct {
	key    string
	c      *connector.Connector
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
}

func entryKey(e config.Connect) string {
	b, _ := json.Marshal(e)
	return string(b)
}

// apply makes the running set equal to entries.
func (s *connectorSet) apply(entries []config.Connect) {
	want := map[string]bool{}
	for _, e := range entries {
		want[entryKey(e)] = true
	}
	s.mu.Lock()
	var keep, stop []*runningConn
	have := map[string]bool{}
	for _, rc := range s.running {
		if want[rc.key] && !have[rc.key] {
			keep = append(keep, rc)
			have[rc.key] = true
		} else {
			stop = append(stop, rc)
		}
	}
	for _, e := range entries {
		k := entryKey(e)
		if have[k] {
			continue
		}
		have[k] = true
		ctx, cancel := context.WithCancel(s.ctx)
		rc := &runningConn{key: k, c: s.newConn(e), cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(rc.done)
			rc.c.Run(ctx)
		}()
		keep = append(keep, rc)
	}
	s.running = keep
	s.mu.Unlock()
	for _, rc := range stop {
		rc.cancel()
		<-rc.done
	}
}

// stop cancels every connector and waits for them.
func (s *connectorSet) stop() {
	s.mu.Lock()
	all := s.running
	s.running = nil
	s.mu.Unlock()
	for _, rc := range all {
		rc.cancel()
	}
	for _, rc := range all {
		<-rc.done
	}
}

func (s *connectorSet) peers() []builtin.Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]builtin.Peer, 0, len(s.running))
	for _, rc := range s.running {
		out = append(out, rc.c.Peer())
	}
	return out
}
