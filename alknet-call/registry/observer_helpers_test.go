package registry_test

import (
	"sync"

	"github.com/alknet/alknet/alknet-call/registry"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	starts []registry.CallStart
	ends   []registry.CallEnd
	tp     func(registry.CallStart) string
}

func (o *recorder) OnCallStart(s registry.CallStart) string {
	o.mu.Lock()
	o.starts = append(o.starts, s)
	f := o.tp
	o.mu.Unlock()
	if f != nil {
		return f(s)
	}
	return ""
}

func (o *recorder) OnCallEnd(e registry.CallEnd) {
	o.mu.Lock()
	o.ends = append(o.ends, e)
	o.mu.Unlock()
}

func (o *recorder) snapshot() ([]registry.CallStart, []registry.CallEnd) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]registry.CallStart(nil), o.starts...), append([]registry.CallEnd(nil), o.ends...)
}
