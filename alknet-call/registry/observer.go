package registry

import (
	"time"
)

// Observer receives one OnCallStart and one OnCallEnd per invocation, wire root or composed
// child (OBS-R1..R4). Implementations must be safe for concurrent use and must not block: they
// run on the invocation's goroutine. They never see inputs, outputs, messages, capabilities,
// tokens or forwarded_for, and they cannot change authorization, routing or results (OBS-R5).
type Observer interface {
	// OnCallStart may return a W3C traceparent for this invocation (its own span); "" keeps
	// s.TraceParent. An invalid value is ignored (OBS-R2).
	OnCallStart(s CallStart) (traceParent string)
	// OnCallEnd runs exactly once, after the result was mapped (OBS-R3).
	OnCallEnd(e CallEnd)
}

// CallStart describes an invocation as it starts.
type CallStart struct {
	Operation   string    // registry name; "" when the name did not resolve (NOT_FOUND at DSP-R1 steps 1-3)
	RequestID   string    // the invocation's request id
	ParentID    string    // "" for a wire root
	Peer        PeerID    // wire root: the calling connection's PeerID; peer-routed child: the target peer; else ""
	Composed    bool      // true for Env invocations
	TraceParent string    // incoming or inherited traceparent; "" = none
	Start       time.Time // when the dispatch core took the invocation
}

// CallEnd describes an invocation as it ends.
type CallEnd struct {
	CallStart
	Code     string        // "" on success; the protocol or domain code otherwise
	Aborted  bool          // ended by a cancellation cause other than its deadline; Code is then ""
	Duration time.Duration // whole invocation; for subscriptions the whole stream
}

type observers []Observer

func (os observers) OnCallStart(s CallStart) string {
	tp := ""
	for _, o := range os {
		if v := o.OnCallStart(s); v != "" {
			tp = v
			s.TraceParent = v
		}
	}
	return tp
}

func (os observers) OnCallEnd(e CallEnd) {
	for _, o := range os {
		o.OnCallEnd(e)
	}
}

// Observers fans out to o in order, ignoring nil entries; with no non-nil entry it returns nil
// (no observer). Each observer's OnCallStart sees the traceparent the previous one returned; the
// last non-empty value wins.
func Observers(o ...Observer) Observer {
	var out observers
	for _, x := range o {
		if x != nil {
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// validTraceParent checks the W3C traceparent shape of CALLP-R46: version "00", 32 lowercase
// hex trace id not all zero, 16 lowercase hex parent id not all zero, 2 hex flags.
func validTraceParent(s string) bool {
	if len(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	if s[0:2] != "00" {
		return false
	}
	trace, parent, flags := s[3:35], s[36:52], s[53:55]
	return lowerHex(trace) && lowerHex(parent) && lowerHex(flags) && !allZero(trace) && !allZero(parent)
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
