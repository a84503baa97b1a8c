package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-call/registry"
	"github.com/alknet/alknet/alknet-cli/internal/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parsed is the result of a small parser of the text format (no Prometheus dependency).
type parsed struct {
	types   map[string]string  // family -> type
	helps   map[string]bool    // family -> has HELP
	samples map[string]float64 // name{labels} -> value
	order   []string
}

func parse(t *testing.T, b []byte) parsed {
	t.Helper()
	p := parsed{types: map[string]string{}, helps: map[string]bool{}, samples: map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			p.helps[f[2]] = true
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("bad TYPE line %q", line)
			}
			p.types[f[2]] = f[3]
			p.order = append(p.order, f[2])
		case line == "" || strings.HasPrefix(line, "#"):
			t.Fatalf("unexpected line %q", line)
		default:
			i := strings.LastIndexByte(line, ' ')
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				t.Fatalf("bad value in %q", line)
			}
			name := line[:i]
			fam := name
			if j := strings.IndexByte(fam, '{'); j >= 0 {
				fam = fam[:j]
				if !strings.HasSuffix(name, "}") {
					t.Fatalf("unterminated labels in %q", line)
				}
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(fam, "_bucket"), "_sum"), "_count")
			if p.types[fam] == "" && p.types[base] != "histogram" {
				t.Fatalf("sample %q before its TYPE line", line)
			}
			p.samples[name] = v
		}
	}
	return p
}

func scrape(t *testing.T, r *metrics.Registry) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newRegistry() *metrics.Registry {
	return metrics.New(metrics.Sources{
		PeersAttached: func() int { return 2 },
		Store:         func() (uint64, bool) { return 7, true },
	}, "v1.2.3", "go1.26", time.Unix(1782907200, 0))
}

func call(r *metrics.Registry, op, peer, code string, aborted bool, d time.Duration) {
	s := registry.CallStart{Operation: op, Peer: registry.PeerID(peer)}
	r.OnCallStart(s)
	r.OnCallEnd(registry.CallEnd{CallStart: s, Code: code, Aborted: aborted, Duration: d})
}

// CLI-R65, CLI-R66, CLI-T35: families, labels, histogram shape, determinism.
func TestExposition(t *testing.T) {
	t.Parallel()
	r := newRegistry()
	call(r, "node/ping", "", "", false, 2*time.Millisecond)
	call(r, "node/ping", "", "", false, 20*time.Millisecond)
	call(r, "", "", "NOT_FOUND", false, time.Millisecond)
	call(r, "node/wait", "worker-b", "", true, 2*time.Minute)
	r.OnCallStart(registry.CallStart{Operation: "node/heartbeat"})
	r.Revoked()

	b := scrape(t, r)
	p := parse(t, b)
	want := map[string]float64{
		`alknet_calls_total{code="OK",op="node/ping",peer=""}`:              2,
		`alknet_calls_total{code="NOT_FOUND",op="_unknown",peer=""}`:        1,
		`alknet_calls_total{code="ABORTED",op="node/wait",peer="worker-b"}`: 1,
		`alknet_calls_in_flight{op="node/heartbeat"}`:                       1,
		`alknet_calls_in_flight{op="node/ping"}`:                            0,
		`alknet_call_duration_seconds_bucket{le="0.001",op="node/ping"}`:    0,
		`alknet_call_duration_seconds_bucket{le="0.005",op="node/ping"}`:    1,
		`alknet_call_duration_seconds_bucket{le="0.025",op="node/ping"}`:    2,
		`alknet_call_duration_seconds_bucket{le="+Inf",op="node/ping"}`:     2,
		`alknet_call_duration_seconds_count{op="node/ping"}`:                2,
		`alknet_call_duration_seconds_sum{op="node/ping"}`:                  0.022,
		`alknet_call_duration_seconds_bucket{le="60",op="node/wait"}`:       0,
		`alknet_call_duration_seconds_bucket{le="+Inf",op="node/wait"}`:     1,
		`alknet_peers_attached`:                                             2,
		`alknet_revocations_total`:                                          1,
		`alknet_store_reloads_total`:                                        7,
		`alknet_store_healthy`:                                              1,
		`alknet_build_info{go_version="go1.26",version="v1.2.3"}`:           1,
		`alknet_start_time_seconds`:                                         1782907200,
		`alknet_metrics_series_dropped_total`:                               0,
	}
	for k, v := range want {
		got, ok := p.samples[k]
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v\n%s", k, got, ok, v, b)
		}
	}
	for fam, typ := range map[string]string{
		"alknet_calls_total": "counter", "alknet_call_duration_seconds": "histogram", "alknet_calls_in_flight": "gauge",
		"alknet_peers_attached": "gauge", "alknet_revocations_total": "counter", "alknet_store_reloads_total": "counter",
		"alknet_store_healthy": "gauge", "alknet_build_info": "gauge", "alknet_start_time_seconds": "gauge",
	} {
		if p.types[fam] != typ || !p.helps[fam] {
			t.Errorf("family %s: type %q, help %v", fam, p.types[fam], p.helps[fam])
		}
	}
	// Cumulative buckets: never decreasing, ending in +Inf equal to _count.
	for _, op := range []string{"node/ping", "node/wait", "_unknown"} {
		prev := -1.0
		for _, le := range append(metrics.Buckets, 0) {
			les := strconv.FormatFloat(le, 'g', -1, 64)
			if le == 0 {
				les = "+Inf"
			}
			v := p.samples[fmt.Sprintf(`alknet_call_duration_seconds_bucket{le="%s",op="%s"}`, les, op)]
			if v < prev {
				t.Errorf("%s bucket %s = %v < %v", op, les, v, prev)
			}
			prev = v
		}
		if prev != p.samples[fmt.Sprintf(`alknet_call_duration_seconds_count{op="%s"}`, op)] {
			t.Errorf("%s: +Inf bucket differs from count", op)
		}
	}
	// Families sorted; two scrapes of an idle registry are byte-identical.
	for i := 1; i < len(p.order); i++ {
		if p.order[i-1] > p.order[i] {
			t.Errorf("families out of order: %s before %s", p.order[i-1], p.order[i])
		}
	}
	if again := scrape(t, r); !bytes.Equal(again, b) {
		t.Fatalf("two idle scrapes differ:\n%s\n---\n%s", b, again)
	}
}

// CLI-R65: label values are escaped.
func TestLabelEscaping(t *testing.T) {
	t.Parallel()
	r := newRegistry()
	call(r, "a/b", "p\"x\\y\nz", "", false, 0)
	if b := scrape(t, r); !bytes.Contains(b, []byte(`peer="p\"x\\y\nz"`)) {
		t.Fatalf("escaping missing:\n%s", b)
	}
}

// CLI-R66, CLI-R67, CLI-T36: unknown names share one series; beyond the cap new series fold
// into op="_other" and are counted.
func TestCardinality(t *testing.T) {
	t.Parallel()
	r := newRegistry()
	for range 20000 {
		call(r, "", "", "NOT_FOUND", false, 0)
	}
	p := parse(t, scrape(t, r))
	if p.samples[`alknet_calls_total{code="NOT_FOUND",op="_unknown",peer=""}`] != 20000 {
		t.Fatalf("unknown ops not folded into one series")
	}
	r = newRegistry()
	for i := range metrics.MaxSeries + 5 {
		call(r, fmt.Sprintf("svc/op%d", i), "", "", false, 0)
	}
	p = parse(t, scrape(t, r))
	n := 0
	for k := range p.samples {
		if strings.HasPrefix(k, "alknet_calls_total{") {
			n++
		}
	}
	if n != metrics.MaxSeries+1 || p.samples[`alknet_calls_total{code="OK",op="_other",peer=""}`] != 5 {
		t.Fatalf("calls_total has %d series, _other = %v", n, p.samples[`alknet_calls_total{code="OK",op="_other",peer=""}`])
	}
	if p.samples["alknet_metrics_series_dropped_total"] == 0 {
		t.Fatal("folded observations not counted")
	}
}

// CLI-R64: GET/HEAD /metrics only, 404 elsewhere, 405 for other methods, 421 for a foreign Host.
func TestHandler(t *testing.T) {
	t.Parallel()
	r := newRegistry()
	ln, err := metrics.Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := metrics.NewServer(r.Handler(ln.Addr()))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-done
	})
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Fatalf("localhost bound as %s", ln.Addr())
	}
	base := "http://" + ln.Addr().String()
	do := func(method, path, host string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := do("GET", "/metrics", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metrics.ContentType || !strings.Contains(body, "# TYPE alknet_calls_total counter") {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, port, _ := strings.Cut(ln.Addr().String(), ":")
	if resp, _ := do("GET", "/metrics", "localhost:"+port); resp.StatusCode != 200 {
		t.Fatalf("Host localhost: %d", resp.StatusCode)
	}
	if resp, body := do("HEAD", "/metrics", ""); resp.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do("POST", "/metrics", ""); resp.StatusCode != 405 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/other", ""); resp.StatusCode != 404 {
		t.Fatalf("/other: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/metrics", "evil.example"); resp.StatusCode != 421 {
		t.Fatalf("foreign Host: %d", resp.StatusCode)
	}
}

// CLI-R68: the observer is safe for concurrent use (run under -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	r := newRegistry()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 500 {
				call(r, fmt.Sprintf("svc/op%d", (g*500+i)%37), "", "", false, time.Millisecond)
			}
		}()
	}
	for range 4 {
		<-done
	}
	p := parse(t, scrape(t, r))
	total := 0.0
	for k, v := range p.samples {
		if strings.HasPrefix(k, "alknet_calls_total{") {
			total += v
		}
	}
	if total != 2000 {
		t.Fatalf("calls_total sums to %v, want 2000", total)
	}
}
