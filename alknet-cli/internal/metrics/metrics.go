// Package metrics counts calls through the call registry's Observer hook and writes them in
// the Prometheus text exposition format 0.0.4 with the standard library only (cli.md §8.7,
// CLI-R64..R70). Family names and labels are a one-way door for dashboards.
package metrics

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alknet/alknet/alknet-call/registry"
)

// MaxSeries is the per-family cardinality cap (CLI-R67).
const MaxSeries = 10000

// Label values that replace real ones (CLI-R66, CLI-R67).
const (
	OpUnknown = "_unknown" // the observer received "" (the name did not resolve)
	OpOther   = "_other"   // a new series beyond MaxSeries
)

// Buckets are the upper bounds of alknet_call_duration_seconds (CLI-R66).
var Buckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Sources are the values read at scrape time. Nil functions leave their family out.
type Sources struct {
	PeersAttached func() int                            // len(PeerSet.View().IDs())
	Store         func() (reloads uint64, healthy bool) // store Stats().Reloads and Health() == nil
}

// Registry holds every series. It implements registry.Observer; all methods are safe for
// concurrent use, and the observer methods never block on I/O (CLI-R68).
type Registry struct {
	src       Sources
	version   string
	goVersion string
	start     time.Time

	calls    family[callKey, atomic.Uint64]
	inflight family[string, atomic.Int64]
	duration family[string, histogram]

	revocations atomic.Uint64
	dropped     atomic.Uint64
}

var _ registry.Observer = (*Registry)(nil)

// New returns an empty registry. version and goVersion label alknet_build_info; start is the
// process start time.
func New(src Sources, version, goVersion string, start time.Time) *Registry {
	return &Registry{src: src, version: version, goVersion: goVersion, start: start}
}

type callKey struct{ op, peer, code string }

type histogram struct {
	counts [15]atomic.Uint64 // per bucket (not cumulative); the last is +Inf
	sumNS  atomic.Int64
}

// family is a read-mostly map of series: lookups are lock-free, a new series takes mu.
type family[K comparable, V any] struct {
	mu sync.Mutex
	m  sync.Map // K -> *V
	n  int      // guarded by mu
}

// get returns the series for k, creating it if the family has room; beyond MaxSeries it
// returns the series for other(k) and counts the folded observation in dropped (CLI-R67).
func (f *family[K, V]) get(k K, other func(K) K, dropped *atomic.Uint64) *V {
	if v, ok := f.m.Load(k); ok {
		return v.(*V)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.m.Load(k); ok {
		return v.(*V)
	}
	if f.n >= MaxSeries {
		dropped.Add(1)
		k = other(k)
		if v, ok := f.m.Load(k); ok {
			return v.(*V)
		}
	}
	v := new(V)
	f.m.Store(k, v)
	f.n++
	return v
}

func opLabel(name string) string {
	if name == "" {
		return OpUnknown
	}
	return name
}

func otherOp(string) string       { return OpOther }
func otherCall(k callKey) callKey { k.op = OpOther; return k }
func (r *Registry) opSeries(op string) *atomic.Int64 {
	return r.inflight.get(op, otherOp, &r.dropped)
}

// OnCallStart counts the call in flight. It returns "" (no traceparent of its own).
func (r *Registry) OnCallStart(s registry.CallStart) string {
	r.opSeries(opLabel(s.Operation)).Add(1)
	return ""
}

// OnCallEnd counts the ended call by op, peer and code (OK, ABORTED or the error code) and
// records its duration.
func (r *Registry) OnCallEnd(e registry.CallEnd) {
	op := opLabel(e.Operation)
	r.opSeries(op).Add(-1)
	code := e.Code
	switch {
	case e.Aborted:
		code = "ABORTED"
	case code == "":
		code = "OK"
	}
	r.calls.get(callKey{op, string(e.Peer), code}, otherCall, &r.dropped).Add(1)
	h := r.duration.get(op, otherOp, &r.dropped)
	secs := e.Duration.Seconds()
	i := sort.SearchFloat64s(Buckets, secs) // first bucket with bound >= secs
	h.counts[i].Add(1)
	h.sumNS.Add(int64(e.Duration))
}

// Revoked counts one Dispatcher.Revoke call (CLI-R49).
func (r *Registry) Revoked() { r.revocations.Add(1) }

func formatFloat(v float64) string {
	if math.IsInf(v, +1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labels formats name="value" pairs (already in label-name order).
func labels(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
