package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// writeConfig writes n's default config file.
func writeConfig(t *testing.T, n *node, body string) {
	t.Helper()
	cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fingerprintOf is the node's identity fingerprint from `identity show`.
func fingerprintOf(t *testing.T, n *node) string {
	t.Helper()
	r := n.run("", "identity", "show", "--json")
	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &id) != nil || id.Fingerprint == "" {
		t.Fatalf("identity show: %+v", r)
	}
	return id.Fingerprint
}

// createKeyPrefix is createKey that also returns the key's public prefix (its identity id).
func createKeyPrefix(t *testing.T, n *node, scopes ...string) (tokenFile, prefix string) {
	t.Helper()
	args := []string{"apikeys", "create", "--json"}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	r := n.run("", args...)
	var k struct {
		Prefix string `json:"prefix"`
		Token  string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &k); err != nil || r.code != 0 || k.Prefix == "" {
		t.Fatalf("apikeys create: %+v", r)
	}
	return secretFile(t, k.Token), k.Prefix
}

// importedOps is the imported_ops count of peer on n's /node/peers (0 when not listed).
func importedOps(t *testing.T, n *node, topo, peer string) int {
	t.Helper()
	r := n.run("", "call", "/node/peers", "--token-file", topo, "--json")
	var ps []struct {
		PeerID      string `json:"peer_id"`
		ImportedOps int    `json:"imported_ops"`
	}
	_ = json.Unmarshal([]byte(r.out), &ps)
	for _, p := range ps {
		if p.PeerID == peer {
			return p.ImportedOps
		}
	}
	return 0
}

// head is a running head a worker dials: its peer id on the worker, its home and its process.
type head struct {
	id string
	n  *node
	p  *proc
}

// startWorker starts an initialised node named worker-<id> with one [[connect]] entry per head
// (in order); each head knows it as id with scope node:read and it grants each head node:read.
// extra is appended to its config.
func startWorker(t *testing.T, id, extra string, heads ...head) (*node, *proc) {
	t.Helper()
	n := newNode(t)
	pw := n.initNode()
	fp := fingerprintOf(t, n)
	cfg := "[node]\nname = \"worker-" + id + "\"\n\n"
	for _, h := range heads {
		if r := h.n.run("", "peers", "add", id, "--fingerprint", fp, "--scope", "node:read"); r.code != 0 {
			t.Fatalf("%s peers add %s: %+v", h.id, id, r)
		}
		if r := n.run("", "peers", "add", h.id, "--fingerprint", h.p.ready.Fingerprint, "--scope", "node:read"); r.code != 0 {
			t.Fatalf("%s peers add %s: %+v", id, h.id, r)
		}
		cfg += "[[connect]]\npeer_id = \"" + h.id + "\"\naddr = \"" + h.p.ready.Listen + "\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n\n"
	}
	writeConfig(t, n, cfg+extra)
	return n, n.serve("--passphrase-file", pw, "--metrics-addr", "127.0.0.1:0")
}

// CLI-T36 (forwarded_for part), FWD-R2, FWD-R5, CLI-R66: a call routed head → worker carries the
// originating caller as forwarded_for, which the worker's /node/whoami reports next to the
// identity it authenticated (the head's peer entry); access on the worker is decided by that
// identity, not by the claim (the caller's key lacks node:read, yet node/info answers); neither
// node's metrics holds the claimed id, the token or the key prefix.
func TestForwardedForReachesWorker(t *testing.T) {
	t.Parallel()
	a := newNode(t)
	route := func(name, target string) string {
		return "[[route]]\nname = \"" + name + "\"\ntarget = \"" + target + "\"\npeer = \"b\"\ntype = \"query\"\nscopes = [\"cluster:read\"]\ngrant = [\"node:read\"]\n\n"
	}
	writeConfig(t, a, route("cluster/whoami", "node/whoami")+route("cluster/info", "node/info"))
	pa := a.serve("--metrics-addr", "127.0.0.1:0")
	b, pb := startWorker(t, "b", "", head{"a", a, pa})
	topo := createKey(t, a, "ops:topology")
	eventually(t, "b attached on a with imported operations", func() bool { return importedOps(t, a, topo, "b") > 0 })
	tok, prefix := createKeyPrefix(t, a, "cluster:read")
	r := a.run("", "call", "/cluster/whoami", "--token-file", tok, "--json")
	var who struct {
		ID           *string  `json:"id"`
		Origin       *string  `json:"origin"`
		Scopes       []string `json:"scopes"`
		ForwardedFor *struct {
			ID     string   `json:"id"`
			Scopes []string `json:"scopes"`
		} `json:"forwarded_for"`
	}
	if r.code != 0 {
		t.Fatalf("routed whoami: %+v", r)
	}
	decodeJSON(t, r.out, &who)
	if who.ID == nil || *who.ID != "a" || who.Origin == nil || *who.Origin != "peer" {
		t.Fatalf("the worker's identity for the call = %s; want the head's peer entry", r.out)
	}
	if len(who.Scopes) != 1 || who.Scopes[0] != "node:read" {
		t.Fatalf("scopes at the worker = %v; want the head's entry's [node:read]", who.Scopes)
	}
	if who.ForwardedFor == nil || who.ForwardedFor.ID != prefix {
		t.Fatalf("forwarded_for at the worker = %s; want id %q", r.out, prefix)
	}
	for _, s := range who.ForwardedFor.Scopes {
		if s == "node:read" {
			t.Fatalf("the claim holds node:read: %s", r.out)
		}
	}
	// node/info needs node:read: the caller's key has only cluster:read, the head's entry on b
	// has node:read, so the routed call answers.
	r = a.run("", "call", "/cluster/info", "--token-file", tok, "--json")
	if r.code != 0 || !strings.Contains(r.out, `"name":"worker-b"`) {
		t.Fatalf("routed node/info: %+v", r)
	}
	// The same key cannot call node/info on the head directly.
	expectError(t, a.run("", "call", "/node/info", "--token-file", tok, "--json"), 6, "FORBIDDEN")
	// The converse: a caller holding node:read itself gains nothing at the worker once the
	// head's entry there loses node:read; the claim carries the scope, access ignores it. The
	// worker drops the changed identity's connection (CLI-R49), the connector redials, and the
	// worker's discovery no longer shows node/info to the head, so the re-imported set lacks it
	// (NOT_FOUND); a call in the short window before the re-import is refused (FORBIDDEN).
	tok2, prefix2 := createKeyPrefix(t, a, "cluster:read", "node:read")
	if r := b.run("", "peers", "update", "a", "--remove-scope", "node:read", "--add-scope", "other"); r.code != 0 {
		t.Fatalf("b peers update a: %+v", r)
	}
	var last procResult
	defer func() {
		if t.Failed() {
			t.Logf("last: %+v\nB:\n%s", last, tail(pb.stderr.String()))
		}
	}()
	eventually(t, "the head's routed node/info refused at the worker", func() bool {
		last = a.run("", "call", "/cluster/info", "--token-file", tok2, "--json")
		return last.code != 0
	})
	var je jsonErr
	decodeJSON(t, last.out, &je)
	if !(last.code == 4 && je.Error.Code == "NOT_FOUND") && !(last.code == 6 && strings.Contains(last.out, "FORBIDDEN")) {
		t.Fatalf("routed node/info without the head's scope: %+v", last)
	}
	eventually(t, "the head re-attached to b", func() bool { return importedOps(t, a, topo, "b") > 0 })
	r = a.run("", "call", "/cluster/whoami", "--token-file", tok2, "--json")
	if r.code != 0 {
		t.Fatalf("routed whoami: %+v", r)
	}
	decodeJSON(t, r.out, &who)
	if who.ForwardedFor == nil || who.ForwardedFor.ID != prefix2 || !slices.Contains(who.ForwardedFor.Scopes, "node:read") || slices.Contains(who.Scopes, "node:read") {
		t.Fatalf("whoami at the worker = %s; want the claim with node:read and the head's identity without it", r.out)
	}
	token := readFile(t, tok)
	for _, addr := range []string{pa.ready.MetricsAddr, pb.ready.MetricsAddr} {
		body := scrape(t, addr)
		if strings.Contains(body, prefix) || strings.Contains(body, strings.TrimSpace(token)) {
			t.Fatalf("metrics of %s hold the claimed id or the token:\n%s", addr, body)
		}
	}
	pb.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-T38, ROUTE-R4, ROUTE-R12, ROUTE-R13, CLI-R76: two heads, one with call.any_policy =
// "round-robin" and one with "first", each with an Any route whose target only the workers serve
// (each worker's own route worker/info, so a head's Layer 0 cannot answer it, ROUTE-R4), and two
// worker processes dialling both heads, the second started only after the first is attached to
// both: 10 calls spread 5/5 on the round-robin head and all go to the first worker on the other;
// an unknown policy is exit 3.
func TestAnyPolicyAcrossWorkers(t *testing.T) {
	t.Parallel()
	rr, first := newNode(t), newNode(t)
	writeConfig(t, rr, "[call]\nany_policy = \"bogus\"\n")
	je := expectError(t, rr.run("", "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--json"), 3, "CONFIG_INVALID")
	if !strings.Contains(je.Error.Message, "any_policy") {
		t.Fatalf("message does not name call.any_policy: %q", je.Error.Message)
	}
	headCfg := func(policy string) string {
		return "[call]\nany_policy = \"" + policy + "\"\n\n[[route]]\nname = \"cluster/info\"\ntarget = \"worker/info\"\ntype = \"query\"\nscopes = [\"cluster:read\"]\ngrant = [\"node:read\"]\n"
	}
	writeConfig(t, rr, headCfg("round-robin"))
	writeConfig(t, first, headCfg("first"))
	prr, pfirst := rr.serve(), first.serve()
	heads := []head{{"rr", rr, prr}, {"first", first, pfirst}}
	// services/list-peers shows a caller only what it may call, so the listing key also holds
	// node:read (the scope worker/info requires).
	listers := map[*node]string{rr: createKey(t, rr, "ops:topology", "node:read"), first: createKey(t, first, "ops:topology", "node:read")}
	hasWorkerInfo := func(h *node, peer string) bool {
		r := h.run("", "ops", "list", "--peers", "--token-file", listers[h], "--json")
		var list struct {
			Peers []struct {
				PeerID     string `json:"peer_id"`
				Operations []struct {
					Name string `json:"name"`
				} `json:"operations"`
			} `json:"peers"`
		}
		_ = json.Unmarshal([]byte(r.out), &list)
		for _, p := range list.Peers {
			for _, op := range p.Operations {
				if p.PeerID == peer && op.Name == "worker/info" {
					return true
				}
			}
		}
		return false
	}
	workerRoute := "[[route]]\nname = \"worker/info\"\ntarget = \"node/info\"\ntype = \"query\"\nscopes = [\"node:read\"]\ngrant = [\"node:read\"]\n"
	_, pb := startWorker(t, "b", workerRoute, heads...)
	eventually(t, "b's worker/info imported on both heads", func() bool { return hasWorkerInfo(rr, "b") && hasWorkerInfo(first, "b") })
	_, pc := startWorker(t, "c", workerRoute, heads...)
	eventually(t, "c's worker/info imported on both heads", func() bool { return hasWorkerInfo(rr, "c") && hasWorkerInfo(first, "c") })
	spread := func(h *node) map[string]int {
		cluster := createKey(t, h, "cluster:read")
		count := map[string]int{}
		for range 10 {
			r := h.run("", "call", "/cluster/info", "--token-file", cluster, "--json")
			var info struct {
				Name string `json:"name"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.out), &info) != nil {
				t.Fatalf("call /cluster/info: %+v", r)
			}
			count[info.Name]++
		}
		return count
	}
	if c := spread(rr); c["worker-b"] != 5 || c["worker-c"] != 5 {
		t.Fatalf("round-robin spread = %v; want 5 answers from each worker", c)
	}
	if c := spread(first); c["worker-b"] != 10 {
		t.Fatalf("first-policy answers = %v; want all 10 from worker-b, attached first", c)
	}
	pc.stop(syscall.SIGINT)
	pb.stop(syscall.SIGINT)
	pfirst.stop(syscall.SIGINT)
	prr.stop(syscall.SIGINT)
}

// CLI-T40 at process level, CLI-R75: serve refuses each invalid [[route]] with exit 3 naming
// the route, and starts with a route without scopes, warning with its name.
func TestRouteValidationProcess(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	cases := []struct{ body, name string }{
		{"[[route]]\nname = \"node/ping\"\ntarget = \"node/ping\"\nscopes = [\"a\"]\n", "node/ping"},
		{"[[route]]\nname = \"info\"\ntarget = \"node/info\"\nscopes = [\"a\"]\n", "info"},
		{"[[route]]\nname = \"c/i\"\ntarget = \"/node/info\"\nscopes = [\"a\"]\n", "c/i"},
		{"[[route]]\nname = \"c/h\"\ntarget = \"node/heartbeat\"\ntype = \"subscription\"\nscopes = [\"a\"]\n", "c/h"},
		{"[[route]]\nname = \"c/p\"\ntarget = \"node/info\"\npeer = \"B_1\"\nscopes = [\"a\"]\n", "c/p"},
	}
	for _, tc := range cases {
		writeConfig(t, n, tc.body)
		r := n.run("", "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--json")
		je := expectError(t, r, 3, "CONFIG_INVALID")
		if !strings.Contains(je.Error.Message, tc.name) {
			t.Errorf("route %q: message %q does not name it", tc.name, je.Error.Message)
		}
	}
	writeConfig(t, n, "[[route]]\nname = \"cluster/open\"\ntarget = \"node/info\"\n")
	p := n.serve("--ephemeral")
	eventually(t, "the warning naming cluster/open", func() bool { return strings.Contains(p.stderr.String(), "cluster/open") })
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, p.stderr.String())
	}
}
