package registry

import (
	"context"
	"sync"
)

// inflightEntry is one indexed invocation (DSP-R5).
type inflightEntry struct {
	cancel context.CancelCauseFunc
	root   bool
}

// inflightIndex maps root caller ids to their running invocations (DSP-R5). It is runtime
// state beside the immutable registration table.
type inflightIndex struct {
	mu      sync.Mutex
	entries map[string]map[*inflightEntry]struct{} // guarded by mu
}

func (x *inflightIndex) add(caller string, cancel context.CancelCauseFunc, root bool) *inflightEntry {
	e := &inflightEntry{cancel: cancel, root: root}
	x.mu.Lock()
	set := x.entries[caller]
	if set == nil {
		set = map[*inflightEntry]struct{}{}
		x.entries[caller] = set
	}
	set[e] = struct{}{}
	x.mu.Unlock()
	return e
}

func (x *inflightIndex) remove(caller string, e *inflightEntry) {
	x.mu.Lock()
	if set := x.entries[caller]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(x.entries, caller)
		}
	}
	x.mu.Unlock()
}

// abort cancels every entry of caller with cause and reports how many roots it cancelled.
func (x *inflightIndex) abort(caller string, cause error) int {
	x.mu.Lock()
	set := x.entries[caller]
	cancels := make([]*inflightEntry, 0, len(set))
	for e := range set {
		cancels = append(cancels, e)
	}
	x.mu.Unlock()
	n := 0
	for _, e := range cancels {
		e.cancel(cause)
		if e.root {
			n++
		}
	}
	return n
}

// size counts indexed entries (tests).
func (x *inflightIndex) size() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, set := range x.entries {
		n += len(set)
	}
	return n
}

// AbortCaller cancels, with cause, every in-flight invocation whose root caller had identity id
// callerID — wire roots, their descendants through context derivation, and indexed
// ContinueRunning descendants — and reports how many root invocations it cancelled (DSP-R6).
// It never blocks on handlers and is safe to call from any goroutine. Invocations that start
// afterwards are not affected.
func (r *Registry) AbortCaller(callerID string, cause error) int {
	return r.inflight.abort(callerID, cause)
}
