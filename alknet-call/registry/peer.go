package registry

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// PeerID is the stable logical name of a peer: the auth.Identity ID its credentials resolve to
// (PeerEntry.peer_id). It is never key material or anything the peer sends in a payload
// (ROUTE-R1).
type PeerID string

// PeerRef is the routing target of a composed call: Any (the zero value, see [AnyPeer]) or one
// specific peer ([Peer]).
type PeerRef struct {
	peer     PeerID
	specific bool
}

// AnyPeer routes by resolution order session → Layer 0 → peers (ROUTE-R4). The zero PeerRef is
// also Any.
func AnyPeer() PeerRef { return PeerRef{} }

// Peer routes to peer id only, with no fallthrough (ROUTE-R5). Peer("") names no peer and
// always resolves to NOT_FOUND.
func Peer(id PeerID) PeerRef { return PeerRef{peer: id, specific: true} }

// Specific returns the peer of a specific reference; ok is false for Any.
func (r PeerRef) Specific() (id PeerID, ok bool) { return r.peer, r.specific }

// Liveness is what a [PeerSet] needs from a connection; the call protocol's CallConnection
// implements it. Done is closed when the connection has ended; Draining reports a connection
// that is closing gracefully (CALLP-R127).
type Liveness interface {
	Done() <-chan struct{}
	Draining() bool
}

// AnyPolicy picks among the peers that can serve an Any-routed call (ROUTE-R12..R16).
type AnyPolicy interface {
	// Pick returns an index into c, which is non-empty, in insertion order, and holds only peers
	// whose source serves op and that are not draining. It must be fast and safe for concurrent use.
	Pick(op string, c []PeerCandidate) int
}

// PeerCandidate is one peer offered to an [AnyPolicy].
type PeerCandidate struct {
	ID          PeerID
	Outstanding int64 // calls currently in flight to this peer through this PeerSet
}

type firstMatch struct{}

func (firstMatch) Pick(string, []PeerCandidate) int { return 0 }

// FirstMatch returns the default policy: the first candidate in insertion order. Stateless.
func FirstMatch() AnyPolicy { return firstMatch{} }

type roundRobin struct {
	mu       sync.Mutex
	counters map[string]*atomic.Uint64 // guarded by mu
}

func (p *roundRobin) Pick(op string, c []PeerCandidate) int {
	p.mu.Lock()
	ctr := p.counters[op]
	if ctr == nil {
		ctr = new(atomic.Uint64)
		p.counters[op] = ctr
	}
	p.mu.Unlock()
	return int((ctr.Add(1) - 1) % uint64(len(c)))
}

// RoundRobin returns a policy rotating over the serving peers, one counter per operation name
// (ROUTE-R13). Give each PeerSet its own value.
func RoundRobin() AnyPolicy { return &roundRobin{counters: map[string]*atomic.Uint64{}} }

type leastOutstanding struct{}

func (leastOutstanding) Pick(_ string, c []PeerCandidate) int {
	best := 0
	for i := 1; i < len(c); i++ {
		if c[i].Outstanding < c[best].Outstanding {
			best = i
		}
	}
	return best
}

// LeastOutstanding returns a policy choosing the candidate with the fewest in-flight calls,
// ties broken by insertion order (ROUTE-R14). Stateless.
func LeastOutstanding() AnyPolicy { return leastOutstanding{} }

// PeerSetOptions configures a [PeerSet].
type PeerSetOptions struct {
	AnyPolicy AnyPolicy    // nil = FirstMatch() (ROUTE-R12)
	Logger    *slog.Logger // a custom policy's out-of-range answers (ROUTE-R12); nil = discard
}

// attachment is one source attached under an id.
type attachment struct {
	src Source
	l   Liveness // nil for plain Attach
}

func (a *attachment) ended() bool {
	if a.l == nil {
		return false
	}
	select {
	case <-a.l.Done():
		return true
	default:
		return false
	}
}

func (a *attachment) draining() bool { return a.l != nil && a.l.Draining() }

// peerEntry is an id with its attachments in the order they were made.
type peerEntry struct {
	id   PeerID
	atts []*attachment
}

// current returns the most recent attachment that has not ended; forAny also skips draining
// ones (ROUTE-R7, ROUTE-R15).
func (e *peerEntry) current(forAny bool) *attachment {
	for i := len(e.atts) - 1; i >= 0; i-- {
		a := e.atts[i]
		if a.ended() || (forAny && a.draining()) {
			continue
		}
		return a
	}
	return nil
}

// PeerSet is a hub's shared, insertion-ordered table PeerID → attachments. Reads are lock-free
// (an immutable table behind an atomic pointer, replaced copy-on-write by writers, which a
// mutex serialises). It owns the Any policy and the per-peer outstanding counters. Safe for
// concurrent use; it starts no goroutine and has no Close (ROUTE-R17).
type PeerSet struct {
	mu      sync.Mutex // serialises writers
	table   atomic.Pointer[[]*peerEntry]
	policy  AnyPolicy
	logger  *slog.Logger
	counts  sync.Map // PeerID → *atomic.Int64
	badPick atomic.Bool
}

// NewPeerSet returns an empty set.
func NewPeerSet(opts PeerSetOptions) *PeerSet {
	s := &PeerSet{policy: opts.AnyPolicy, logger: opts.Logger}
	if s.policy == nil {
		s.policy = FirstMatch()
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	empty := []*peerEntry{}
	s.table.Store(&empty)
	return s
}

func (s *PeerSet) load() []*peerEntry { return *s.table.Load() }

// write copies the table without ended attachments, applies fn, drops ids without attachments
// and publishes the result. The caller holds s.mu.
func (s *PeerSet) write(fn func([]*peerEntry) []*peerEntry) {
	old := s.load()
	next := make([]*peerEntry, 0, len(old)+1)
	for _, e := range old {
		c := &peerEntry{id: e.id}
		for _, a := range e.atts {
			if !a.ended() {
				c.atts = append(c.atts, a)
			}
		}
		if len(c.atts) > 0 {
			next = append(next, c)
		}
	}
	next = fn(next)
	out := next[:0]
	for _, e := range next {
		if len(e.atts) > 0 {
			out = append(out, e)
		}
	}
	s.table.Store(&out)
}

func (s *PeerSet) attach(id PeerID, a *attachment) {
	s.write(func(t []*peerEntry) []*peerEntry {
		for _, e := range t {
			if e.id == id {
				e.atts = append(e.atts, a)
				return t
			}
		}
		return append(t, &peerEntry{id: id, atts: []*attachment{a}})
	})
}

// Attach adds src as the newest attachment of id (ROUTE-R7). detach removes exactly this
// attachment and is idempotent. An empty id is an error and attaches nothing (ROUTE-R2).
func (s *PeerSet) Attach(id PeerID, src Source) (detach func(), err error) {
	if id == "" {
		return nil, ErrEmptyPeerID
	}
	a := &attachment{src: src}
	s.mu.Lock()
	s.attach(id, a)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.write(func(t []*peerEntry) []*peerEntry {
				for _, e := range t {
					if e.id == id {
						for i, x := range e.atts {
							if x == a {
								e.atts = append(e.atts[:i:i], e.atts[i+1:]...)
								break
							}
						}
					}
				}
				return t
			})
		})
	}, nil
}

// AttachConnection is Attach for a source that lives as long as a connection: the attachment
// is absent from every read once l.Done() is closed (ROUTE-R8, R17) and is skipped by Any while
// l reports Draining (ROUTE-R15). An empty id, or an l whose Done() is already closed, is an
// error and attaches nothing.
func (s *PeerSet) AttachConnection(id PeerID, src Source, l Liveness) error {
	if id == "" {
		return ErrEmptyPeerID
	}
	a := &attachment{src: src, l: l}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ended() {
		return ErrConnectionEnded
	}
	s.attach(id, a)
	return nil
}

// View returns the live view carried in WireCall.Routes (ROUTE-R6).
func (s *PeerSet) View() PeerView { return PeerView{set: s} }

// Outstanding reports the calls in flight to id through this set (ROUTE-R14).
func (s *PeerSet) Outstanding(id PeerID) int64 {
	if v, ok := s.counts.Load(id); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (s *PeerSet) counter(id PeerID) *atomic.Int64 {
	if v, ok := s.counts.Load(id); ok {
		return v.(*atomic.Int64)
	}
	v, _ := s.counts.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// PeerView is the handle to a PeerSet that WireCall.Routes carries. It is a live view: every
// read sees the set's table as it is at that moment (ROUTE-R6). The zero value has no peers.
type PeerView struct{ set *PeerSet }

// IDs returns the ids with a current attachment, in insertion order.
func (p PeerView) IDs() []PeerID {
	if p.set == nil {
		return nil
	}
	var out []PeerID
	for _, e := range p.set.load() {
		if e.current(false) != nil {
			out = append(out, e.id)
		}
	}
	return out
}

// Source returns id's current attachment (ROUTE-R7).
func (p PeerView) Source(id PeerID) (Source, bool) {
	if p.set == nil || id == "" {
		return nil, false
	}
	for _, e := range p.set.load() {
		if e.id == id {
			if a := e.current(false); a != nil {
				return a.src, true
			}
			return nil, false
		}
	}
	return nil, false
}

// route is the outcome of a peer routing decision.
type route struct {
	peer PeerID
	src  Source
}

// specific resolves Peer(id) (ROUTE-R5), with the calling connection's own set overriding its
// peer's entry (ROUTE-R6).
func (p PeerView) specific(id PeerID, self PeerID, selfSrc Source) (route, bool) {
	if id == "" {
		return route{}, false
	}
	if self != "" && id == self && selfSrc != nil {
		return route{peer: id, src: selfSrc}, true
	}
	src, ok := p.Source(id)
	if !ok {
		return route{}, false
	}
	return route{peer: id, src: src}, true
}

// pickAny resolves Any among the peers for op through the set's policy (ROUTE-R12), with the
// override in its peer's position or after every other peer (ROUTE-R6).
func (p PeerView) pickAny(op string, self PeerID, selfSrc Source) (route, bool) {
	var entries []*peerEntry
	policy := AnyPolicy(firstMatch{})
	if p.set != nil {
		entries = p.set.load()
		policy = p.set.policy
	}
	if _, first := policy.(firstMatch); first {
		return firstServing(entries, op, self, selfSrc)
	}
	cands := make([]PeerCandidate, 0, len(entries)+1)
	srcs := make([]Source, 0, len(entries)+1)
	overridden := false
	add := func(id PeerID, src Source) {
		if _, ok := src.Lookup(op); !ok {
			return
		}
		var n int64
		if p.set != nil {
			n = p.set.Outstanding(id)
		}
		cands = append(cands, PeerCandidate{ID: id, Outstanding: n})
		srcs = append(srcs, src)
	}
	for _, e := range entries {
		if self != "" && selfSrc != nil && e.id == self {
			overridden = true
			add(self, selfSrc)
			continue
		}
		if a := e.current(true); a != nil {
			add(e.id, a.src)
		}
	}
	if self != "" && selfSrc != nil && !overridden {
		add(self, selfSrc)
	}
	if len(cands) == 0 {
		return route{}, false
	}
	i := policy.Pick(op, cands)
	if i < 0 || i >= len(cands) {
		if p.set != nil && p.set.badPick.CompareAndSwap(false, true) {
			p.set.logger.Error("any policy returned an index outside the candidate list; using the first candidate",
				slog.String("op", op), slog.Int("index", i), slog.Int("candidates", len(cands)))
		}
		i = 0
	}
	return route{peer: cands[i].ID, src: srcs[i]}, true
}

// firstServing is FirstMatch without building the candidate list: the first peer in insertion
// order (the override in its peer's position, or last) whose Any attachment serves op. It
// answers exactly what Pick would.
func firstServing(entries []*peerEntry, op string, self PeerID, selfSrc Source) (route, bool) {
	hasSelf := self != "" && selfSrc != nil
	overridden := false
	for _, e := range entries {
		src := Source(nil)
		if hasSelf && e.id == self {
			overridden = true
			src = selfSrc
		} else if a := e.current(true); a != nil {
			src = a.src
		}
		if src == nil {
			continue
		}
		if _, ok := src.Lookup(op); ok {
			return route{peer: e.id, src: src}, true
		}
	}
	if hasSelf && !overridden {
		if _, ok := selfSrc.Lookup(op); ok {
			return route{peer: self, src: selfSrc}, true
		}
	}
	return route{}, false
}

// track counts a call routed to id until the returned function runs (ROUTE-R14).
func (p PeerView) track(id PeerID) func() {
	if p.set == nil {
		return func() {}
	}
	c := p.set.counter(id)
	c.Add(1)
	return func() { c.Add(-1) }
}
