package metrics

import (
	"bytes"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// ContentType is the text exposition format's media type (CLI-R65).
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

type sample struct {
	labels string
	value  string
}

type familyOut struct {
	name, help, typ string
	samples         []sample
}

// snapshot copies every value; the response is written from the copy, holding no lock (CLI-R68).
func (r *Registry) snapshot() []familyOut {
	var fams []familyOut

	var calls []sample
	r.calls.m.Range(func(k, v any) bool {
		ck := k.(callKey)
		calls = append(calls, sample{labels("code", ck.code, "op", ck.op, "peer", ck.peer), strconv.FormatUint(v.(*atomic.Uint64).Load(), 10)})
		return true
	})
	fams = append(fams, familyOut{"alknet_calls_total", "Calls ended, by operation, peer and result code.", "counter", calls})

	var hist []sample
	type hs struct {
		op      string
		samples []sample
	}
	var hss []hs
	r.duration.m.Range(func(k, v any) bool {
		op := k.(string)
		h := v.(*histogram)
		var cum uint64
		var ss []sample
		for i, b := range append(Buckets[:len(Buckets):len(Buckets)], math.Inf(1)) {
			cum += h.counts[i].Load()
			ss = append(ss, sample{"_bucket" + labels("le", formatFloat(b), "op", op), strconv.FormatUint(cum, 10)})
		}
		ss = append(ss,
			sample{"_sum" + labels("op", op), formatFloat(time.Duration(h.sumNS.Load()).Seconds())},
			sample{"_count" + labels("op", op), strconv.FormatUint(cum, 10)})
		hss = append(hss, hs{op, ss})
		return true
	})
	sort.Slice(hss, func(i, j int) bool { return hss[i].op < hss[j].op })
	for _, h := range hss {
		hist = append(hist, h.samples...)
	}
	fams = append(fams, familyOut{"alknet_call_duration_seconds", "Call duration in seconds, by operation.", "histogram", hist})

	var inflight []sample
	r.inflight.m.Range(func(k, v any) bool {
		inflight = append(inflight, sample{labels("op", k.(string)), strconv.FormatInt(v.(*atomic.Int64).Load(), 10)})
		return true
	})
	fams = append(fams, familyOut{"alknet_calls_in_flight", "Calls running now, by operation.", "gauge", inflight})

	if r.src.PeersAttached != nil {
		fams = append(fams, familyOut{"alknet_peers_attached", "Peer ids with a current attachment.", "gauge",
			[]sample{{"", strconv.Itoa(r.src.PeersAttached())}}})
	}
	fams = append(fams, familyOut{"alknet_revocations_total", "Revocations of a caller's connections and running work.", "counter",
		[]sample{{"", strconv.FormatUint(r.revocations.Load(), 10)}}})
	if r.src.Store != nil {
		reloads, healthy := r.src.Store()
		h := "0"
		if healthy {
			h = "1"
		}
		fams = append(fams,
			familyOut{"alknet_store_reloads_total", "Snapshot reloads of the peer store.", "counter", []sample{{"", strconv.FormatUint(reloads, 10)}}},
			familyOut{"alknet_store_healthy", "1 when the peer store is healthy, else 0.", "gauge", []sample{{"", h}}})
	}
	fams = append(fams,
		familyOut{"alknet_build_info", "Build information; always 1.", "gauge", []sample{{labels("go_version", r.goVersion, "version", r.version), "1"}}},
		familyOut{"alknet_start_time_seconds", "Process start time, Unix seconds.", "gauge", []sample{{"", strconv.FormatInt(r.start.Unix(), 10)}}},
		familyOut{"alknet_metrics_series_dropped_total", "Observations folded into op=\"_other\" by the series cap.", "counter",
			[]sample{{"", strconv.FormatUint(r.dropped.Load(), 10)}}},
	)
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	for i := range fams {
		if fams[i].typ != "histogram" {
			s := fams[i].samples
			sort.Slice(s, func(a, b int) bool { return s[a].labels < s[b].labels })
		}
	}
	return fams
}

// WriteTo writes the exposition (CLI-R65): per family a # HELP and a # TYPE line, then its
// samples; families and series sorted, so two scrapes of an idle node are byte-identical.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	for _, f := range r.snapshot() {
		b.WriteString("# HELP " + f.name + " " + f.help + "\n")
		b.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
		for _, s := range f.samples {
			b.WriteString(f.name + s.labels + " " + s.value + "\n")
		}
	}
	return b.WriteTo(w)
}

// Handler serves GET and HEAD /metrics only (CLI-R64): other paths are 404, other methods 405,
// and a Host header other than addr's host:port or localhost:port is 421 (DNS-rebinding
// defence). addr is the listener's bound address.
func (r *Registry) Handler(addr net.Addr) http.Handler {
	_, port, _ := net.SplitHostPort(addr.String())
	allowed := map[string]bool{addr.String(): true, net.JoinHostPort("localhost", port): true}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/metrics" {
			http.NotFound(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !allowed[req.Host] {
			http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if req.Method == http.MethodHead {
			return
		}
		_, _ = r.WriteTo(w)
	})
}

// Listen binds the loopback admin listener; "localhost" is bound as 127.0.0.1 (CLI-R64). The
// address must already have passed config.CheckMetricsAddr.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	return net.Listen("tcp", net.JoinHostPort(host, port))
}

// NewServer returns the admin HTTP server for h with the timeouts of CLI-R68: 5 s to read the
// request header, 10 s to write the response.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
}
