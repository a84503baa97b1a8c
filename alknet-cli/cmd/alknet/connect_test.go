package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type peerView struct {
	PeerID      string  `json:"peer_id"`
	Fingerprint *string `json:"fingerprint"`
	Direction   string  `json:"direction"`
	State       string  `json:"state"`
	RemoteView  *struct {
		ID     *string `json:"id"`
		Origin *string `json:"origin"`
	} `json:"remote_view"`
}

func nodePeers(t *testing.T, n *node, tok string) []peerView {
	t.Helper()
	r := n.run("", "call", "/node/peers", "--token-file", tok, "--json")
	var ps []peerView
	if r.code != 0 || json.Unmarshal([]byte(r.out), &ps) != nil {
		t.Fatalf("/node/peers: %+v", r)
	}
	return ps
}

// CLI-T42, CLI-R45, CLI-R79: a worker dials its head pinned to the head's peer entry, learns
// from /node/whoami that the head does not know it (one warning naming its fingerprint and the
// peers add command), and is recognised after the head adds it and closes the anonymous
// connection (CORE-R440).
func TestWorkerLearnsHowHeadSeesIt(t *testing.T) {
	t.Parallel()
	a, b := newNode(t), newNode(t)
	bpw := b.initNode()
	pa := a.serve()
	r := b.run("", "identity", "show", "--json")
	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	_ = json.Unmarshal([]byte(r.out), &id)
	fpB := id.Fingerprint
	if r := b.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint); r.code != 0 {
		t.Fatalf("b peers add a: %+v", r)
	}
	cfg := filepath.Join(b.home, ".config", "alknet", "config.toml")
	body := "[[connect]]\npeer_id = \"a\"\naddr = \"" + pa.ready.Listen + "\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := b.serve("--passphrase-file", bpw)
	topoB := createKey(t, b, "ops:topology")
	var out peerView
	eventually(t, "b's outbound entry connected with a remote view", func() bool {
		for _, p := range nodePeers(t, b, topoB) {
			if p.PeerID == "a" && p.Direction == "outbound" && p.State == "connected" && p.RemoteView != nil {
				out = p
				return true
			}
		}
		return false
	})
	if out.RemoteView.ID != nil || out.RemoteView.Origin != nil || out.Fingerprint == nil || *out.Fingerprint != pa.ready.Fingerprint {
		t.Fatalf("outbound entry = %+v", out)
	}
	// CLI-R36 step 2: --peer alone dials the [[connect]] address, pinned by the peer entry.
	if r := b.run("", "call", "/node/ping", "--peer", "a"); r.code != 0 {
		t.Fatalf("call --peer a: %+v", r)
	}
	warn := "alknet peers add <id> --fingerprint " + fpB
	eventually(t, "the CLI-R79 warning", func() bool { return strings.Contains(pb.stderr.String(), warn) })
	if n := strings.Count(pb.stderr.String(), warn); n != 1 {
		t.Fatalf("warning logged %d times", n)
	}
	if r := a.run("", "peers", "add", "b", "--fingerprint", fpB, "--scope", "node:read"); r.code != 0 {
		t.Fatalf("a peers add b: %+v", r)
	}
	// The head closes b's anonymous connection once b's key is admitted; b redials and is
	// recognised (cli.md appendix B, CLI-R79).
	defer func() {
		if t.Failed() {
			t.Logf("A:\n%s\nB:\n%s", tail(pa.stderr.String()), tail(pb.stderr.String()))
		}
	}()
	eventually(t, "the head recognising b", func() bool {
		for _, p := range nodePeers(t, b, topoB) {
			if p.PeerID == "a" && p.RemoteView != nil && p.RemoteView.ID != nil && *p.RemoteView.ID == "b" &&
				p.RemoteView.Origin != nil && *p.RemoteView.Origin == "peer" {
				return true
			}
		}
		return false
	})
	if n := strings.Count(pb.stderr.String(), warn); n != 1 {
		t.Fatalf("warning repeated after recognition (%d)", n)
	}
	topoA := createKey(t, a, "ops:topology")
	found := false
	for _, p := range nodePeers(t, a, topoA) {
		found = found || (p.PeerID == "b" && p.Direction == "inbound" && p.State == "connected")
	}
	if !found {
		t.Fatal("the head does not list b inbound")
	}
	// Disabling the head's entry on b makes b drop the connection and wait (CLI-R45, CLI-R49).
	if r := b.run("", "peers", "disable", "a"); r.code != 0 {
		t.Fatalf("b peers disable a: %+v", r)
	}
	eventually(t, "b waiting for a usable entry", func() bool {
		for _, p := range nodePeers(t, b, topoB) {
			if p.PeerID == "a" && p.State == "waiting" && p.Fingerprint == nil {
				return true
			}
		}
		return false
	})
	pb.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-T15: a referenced credential that is missing is exit 4 naming it; in ephemeral mode
// any reference is exit 12.
func TestServeCredentialReferences(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	pw := n.initNode()
	cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
	body := "[[connect]]\npeer_id = \"head\"\naddr = \"127.0.0.1:1\"\nauth_credential = \"missing\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	je := expectError(t, n.run("", "serve", "--listen", "127.0.0.1:0", "--passphrase-file", pw, "--json"), 4, "NOT_FOUND")
	if !strings.Contains(je.Error.Message, "missing") {
		t.Fatalf("message does not name the credential: %q", je.Error.Message)
	}
	expectError(t, n.run("", "serve", "--listen", "127.0.0.1:0", "--ephemeral", "--json"), 12, "NOT_INITIALIZED")
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

// cli.md §4.3, CLI-R15: a reload adds and removes [[connect]] entries on a running node.
func TestReloadConnectors(t *testing.T) {
	t.Parallel()
	a, b := newNode(t), newNode(t)
	pa := a.serve()
	pb := b.serve()
	if r := b.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint); r.code != 0 {
		t.Fatalf("peers add: %+v", r)
	}
	topo := createKey(t, b, "ops:topology")
	cfg := filepath.Join(b.home, ".config", "alknet", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	body := "[[connect]]\npeer_id = \"a\"\naddr = \"" + pa.ready.Listen + "\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := b.run("", "config", "reload", "--json")
	if r.code != 0 || !strings.Contains(r.out, `"applied":["connect"]`) {
		t.Fatalf("reload adding a connector: %+v", r)
	}
	eventually(t, "the new connector connected", func() bool {
		for _, p := range nodePeers(t, b, topo) {
			if p.PeerID == "a" && p.Direction == "outbound" && p.State == "connected" {
				return true
			}
		}
		return false
	})
	if err := os.WriteFile(cfg, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := b.run("", "config", "reload", "--json"); r.code != 0 || !strings.Contains(r.out, `"applied":["connect"]`) {
		t.Fatalf("reload removing the connector: %+v", r)
	}
	if ps := nodePeers(t, b, topo); len(ps) != 0 {
		t.Fatalf("/node/peers after removal = %+v", ps)
	}
	pb.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-R40, CLI-T36 (part): a connector authenticates with a decrypted auth_credential (an API
// key of the head); the head resolves the token, and neither node's /metrics holds the token,
// its prefix or the credential.
func TestConnectorWithCredential(t *testing.T) {
	t.Parallel()
	a, b := newNode(t), newNode(t)
	bpw := b.initNode()
	pa := a.serve("--metrics-addr", "127.0.0.1:0")
	r := a.run("", "apikeys", "create", "--scope", "node:read", "--json")
	var key struct {
		Prefix string `json:"prefix"`
		Token  string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &key); err != nil {
		t.Fatalf("apikeys create: %+v", r)
	}
	if r := b.run(key.Token, "creds", "set", "head-token", "--stdin", "--passphrase-file", bpw); r.code != 0 {
		t.Fatalf("creds set: %+v", r)
	}
	if r := b.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint); r.code != 0 {
		t.Fatalf("peers add: %+v", r)
	}
	cfg := filepath.Join(b.home, ".config", "alknet", "config.toml")
	body := "[[connect]]\npeer_id = \"a\"\naddr = \"" + pa.ready.Listen + "\"\nauth_credential = \"head-token\"\nimport = false\n"
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := b.serve("--passphrase-file", bpw, "--metrics-addr", "127.0.0.1:0")
	topo := createKey(t, b, "ops:topology")
	eventually(t, "the connector's whoami answered with the key's identity", func() bool {
		for _, p := range nodePeers(t, b, topo) {
			if p.PeerID == "a" && p.RemoteView != nil && p.RemoteView.ID != nil && *p.RemoteView.ID == key.Prefix {
				return true
			}
		}
		return false
	})
	for _, addr := range []string{pa.ready.MetricsAddr, pb.ready.MetricsAddr} {
		body := scrape(t, addr)
		if strings.Contains(body, key.Token) || strings.Contains(body, key.Prefix) || strings.Contains(body, "head-token") {
			t.Fatalf("metrics of %s leak the credential:\n%s", addr, body)
		}
	}
	if strings.Contains(pb.stderr.String(), key.Token) || strings.Contains(pa.stderr.String(), key.Token) {
		t.Fatal("a log holds the token")
	}
	pb.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-T20, CLI-R46, CLI-R48, CLI-R76: a head and two worker processes; each worker dials the
// head, both sides import each other's operations, and the head's peer-pinned routes answer with
// each worker's /node/info; a killed worker's route answers NOT_FOUND while the other still works,
// and once the worker is restarted it reconnects, is re-imported and its route answers again.
// Finally the head is restarted on the same home, address and identity with
// call.import_from_inbound_peers = false: the running workers reconnect with backoff and are
// listed inbound with imported_ops 0, both routes answer NOT_FOUND, and a worker can still call
// the head's /node/info with its key (CLI-R48).
func TestHeadRoutesToWorkers(t *testing.T) {
	t.Parallel()
	a := newNode(t)
	apw := a.initNode() // a persistent identity: the workers' pins must survive the head's restart
	write := func(n *node, body string) {
		cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
		if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	route := func(name, peer string) string {
		return "[[route]]\nname = \"" + name + "\"\ntarget = \"node/info\"\npeer = \"" + peer + "\"\ntype = \"query\"\nscopes = [\"cluster:read\"]\ngrant = [\"node:read\"]\n\n"
	}
	headConfig := "[node]\nname = \"head-a\"\n\n[limits]\nidle_timeout = \"3s\"\n\n" + route("cluster/info-b", "b") + route("cluster/info-c", "c")
	write(a, headConfig)
	pa := a.serve("--passphrase-file", apw)
	topo := createKey(t, a, "ops:topology")
	cluster := createKey(t, a, "cluster:read")
	workers := map[string]*proc{}
	homes, passphrases := map[string]*node{}, map[string]string{}
	for _, w := range []string{"b", "c"} {
		n := newNode(t)
		pw := n.initNode()
		homes[w], passphrases[w] = n, pw
		r := n.run("", "identity", "show", "--json")
		var id struct {
			Fingerprint string `json:"fingerprint"`
		}
		_ = json.Unmarshal([]byte(r.out), &id)
		if r := a.run("", "peers", "add", w, "--fingerprint", id.Fingerprint, "--scope", "node:read"); r.code != 0 {
			t.Fatalf("a peers add %s: %+v", w, r)
		}
		if r := n.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint, "--scope", "node:read"); r.code != 0 {
			t.Fatalf("%s peers add a: %+v", w, r)
		}
		write(n, "[node]\nname = \"worker-"+w+"\"\n\n[[connect]]\npeer_id = \"a\"\naddr = \""+pa.ready.Listen+"\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n")
		workers[w] = n.serve("--passphrase-file", pw)
	}
	attached := func(w string) bool {
		r := a.run("", "call", "/node/peers", "--token-file", topo, "--json")
		var ps []struct {
			PeerID      string `json:"peer_id"`
			ImportedOps int    `json:"imported_ops"`
		}
		_ = json.Unmarshal([]byte(r.out), &ps)
		for _, p := range ps {
			if p.PeerID == w && p.ImportedOps > 0 {
				return true
			}
		}
		return false
	}
	eventually(t, "both workers attached with imported operations", func() bool { return attached("b") && attached("c") })
	r := a.run("", "ops", "list", "--peers", "--token-file", topo, "--json")
	if r.code != 0 || !strings.Contains(r.out, `"peer_id":"b"`) || !strings.Contains(r.out, `"peer_id":"c"`) {
		t.Fatalf("ops list --peers: %+v", r)
	}
	for _, w := range []string{"b", "c"} {
		r := a.run("", "call", "/cluster/info-"+w, "--token-file", cluster, "--json")
		if r.code != 0 || !strings.Contains(r.out, `"name":"worker-`+w+`"`) {
			t.Fatalf("routed call to %s: %+v", w, r)
		}
	}
	nokey := createKey(t, a, "other")
	expectError(t, a.run("", "call", "/cluster/info-c", "--token-file", nokey, "--json"), 6, "FORBIDDEN")
	// Without ops:topology neither /node/peers nor the peers' operation list is shown.
	expectError(t, a.run("", "call", "/node/peers", "--token-file", nokey, "--json"), 6, "FORBIDDEN")
	expectError(t, a.run("", "ops", "list", "--peers", "--token-file", nokey, "--json"), 6, "FORBIDDEN")
	// Kill c: the head drops it (idle timeout 3s) and its route answers NOT_FOUND; b still works.
	workers["c"].stop(syscall.SIGKILL)
	eventually(t, "the head dropping c", func() bool { return !attached("c") })
	expectError(t, a.run("", "call", "/cluster/info-c", "--token-file", cluster, "--json"), 4, "NOT_FOUND")
	if r := a.run("", "call", "/cluster/info-b", "--token-file", cluster); r.code != 0 {
		t.Fatalf("route to b after c died: %+v", r)
	}
	// Restart c on the same home: it reconnects, the head re-imports its operations and the
	// pinned route answers with c's /node/info again.
	workers["c"] = homes["c"].serve("--passphrase-file", passphrases["c"])
	eventually(t, "the restarted c re-attached with imported operations", func() bool { return attached("c") })
	r = a.run("", "call", "/cluster/info-c", "--token-file", cluster, "--json")
	if r.code != 0 || !strings.Contains(r.out, `"name":"worker-c"`) {
		t.Fatalf("routed call to the restarted c: %+v", r)
	}

	// Restart the head on the same config directory, store, keystore and address with inbound
	// import off (CLI-R48); b and c keep running and reconnect with their backoff.
	if code := pa.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("head exit %d:\n%s", code, pa.stderr.String())
	}
	write(a, "[call]\nimport_from_inbound_peers = false\n\n"+headConfig)
	headFP := pa.ready.Fingerprint
	pa = a.serve("--passphrase-file", apw, "--listen", pa.ready.Listen)
	if pa.ready.Fingerprint != headFP {
		t.Fatalf("the restarted head presents %s, want its keystore's %s", pa.ready.Fingerprint, headFP)
	}
	defer func() {
		if t.Failed() {
			t.Logf("restarted head:\n%s", tail(pa.stderr.String()))
		}
	}()
	type inboundView struct {
		PeerID      string `json:"peer_id"`
		Direction   string `json:"direction"`
		State       string `json:"state"`
		ImportedOps int    `json:"imported_ops"`
	}
	inbound := func() map[string]inboundView {
		r := a.run("", "call", "/node/peers", "--token-file", topo, "--json")
		var ps []inboundView
		if r.code != 0 || json.Unmarshal([]byte(r.out), &ps) != nil {
			t.Fatalf("/node/peers on the restarted head: %+v", r)
		}
		m := map[string]inboundView{}
		for _, p := range ps {
			if p.Direction == "inbound" && p.State == "connected" {
				m[p.PeerID] = p
			}
		}
		return m
	}
	eventually(t, "b and c reconnected inbound to the restarted head", func() bool {
		m := inbound()
		_, b := m["b"]
		_, c := m["c"]
		return b && c
	})
	noImports := func(when string) {
		t.Helper()
		m := inbound()
		for _, w := range []string{"b", "c"} {
			p, ok := m[w]
			if !ok {
				t.Fatalf("%s: %s is not listed inbound and connected: %+v", when, w, m)
			}
			if p.ImportedOps != 0 {
				t.Fatalf("%s: %s listed with imported_ops %d, want 0 (import_from_inbound_peers = false)", when, w, p.ImportedOps)
			}
		}
	}
	noImports("after reconnecting")
	for _, w := range []string{"b", "c"} {
		expectError(t, a.run("", "call", "/cluster/info-"+w, "--token-file", cluster, "--json"), 4, "NOT_FOUND")
	}
	asB := []string{"--as-node", "--passphrase-file", passphrases["b"], "--addr", pa.ready.Listen, "--pin", pa.ready.Fingerprint}
	if r := homes["b"].run("", append([]string{"call", "/node/info", "--json"}, asB...)...); r.code != 0 || !strings.Contains(r.out, `"name":"head-a"`) {
		t.Fatalf("b calling the restarted head's node/info with its key: %+v", r)
	}
	noImports("after the routed calls")
	workers["c"].stop(syscall.SIGINT)
	workers["b"].stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-T21 (through a head), CALLP-R113: Ctrl-C on a call of the head's route aborts the
// forwarded work on the worker: the worker's metrics show node/wait ended ABORTED.
func TestAbortCascadesThroughHead(t *testing.T) {
	t.Parallel()
	a, b := newNode(t), newNode(t)
	bpw := b.initNode()
	write := func(n *node, body string) {
		cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
		if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "[[route]]\nname = \"cluster/wait\"\ntarget = \"node/wait\"\npeer = \"b\"\nscopes = [\"cluster:read\"]\ngrant = [\"node:read\"]\n")
	pa := a.serve()
	r := b.run("", "identity", "show", "--json")
	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	_ = json.Unmarshal([]byte(r.out), &id)
	a.run("", "peers", "add", "b", "--fingerprint", id.Fingerprint, "--scope", "node:read")
	b.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint, "--scope", "node:read")
	write(b, "[[connect]]\npeer_id = \"a\"\naddr = \""+pa.ready.Listen+"\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n")
	pb := b.serve("--passphrase-file", bpw, "--metrics-addr", "127.0.0.1:0")
	topo := createKey(t, a, "ops:topology")
	eventually(t, "b attached on a", func() bool {
		r := a.run("", "call", "/node/peers", "--token-file", topo, "--json")
		return strings.Contains(r.out, `"peer_id":"b"`) && !strings.Contains(r.out, `"imported_ops":0`)
	})
	key := createKey(t, a, "cluster:read")
	cl := a.start("", "call", "/cluster/wait", "--input", `{"ms":60000}`, "--token-file", key)
	inflight := `alknet_calls_in_flight{op="node/wait"}`
	eventually(t, "node/wait running on b", func() bool { v, _ := sample(scrape(t, pb.ready.MetricsAddr), inflight); return v == "1" })
	if code := cl.stop(syscall.SIGINT); code != 130 {
		t.Fatalf("call exit %d: %s", code, cl.stderr.String())
	}
	eventually(t, "the abort reaching b", func() bool {
		body := scrape(t, pb.ready.MetricsAddr)
		v, _ := sample(body, inflight)
		n, _ := sample(body, `alknet_calls_total{code="ABORTED",op="node/wait",peer="a"}`)
		return v == "0" && n == "1"
	})
	pb.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}

// CLI-T39 (second part), CLI-R49, CALLP-R124: disabling the caller's peer entry on the head
// closes its connection (its call exits 9) and aborts the work it forwarded to another node.
func TestDisableAbortsForwardedWork(t *testing.T) {
	t.Parallel()
	a, b, c := newNode(t), newNode(t), newNode(t)
	bpw, cpw := b.initNode(), c.initNode()
	fp := func(n *node) string {
		r := n.run("", "identity", "show", "--json")
		var id struct {
			Fingerprint string `json:"fingerprint"`
		}
		_ = json.Unmarshal([]byte(r.out), &id)
		return id.Fingerprint
	}
	write := func(n *node, body string) {
		cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
		if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "[[route]]\nname = \"cluster/wait\"\ntarget = \"node/wait\"\npeer = \"c\"\nscopes = [\"cluster:read\"]\ngrant = [\"node:read\"]\n")
	pa := a.serve()
	a.run("", "peers", "add", "c", "--fingerprint", fp(c), "--scope", "node:read")
	a.run("", "peers", "add", "worker-b", "--fingerprint", fp(b), "--scope", "cluster:read")
	c.run("", "peers", "add", "a", "--fingerprint", pa.ready.Fingerprint, "--scope", "node:read")
	write(c, "[[connect]]\npeer_id = \"a\"\naddr = \""+pa.ready.Listen+"\"\nbackoff_min = \"100ms\"\nbackoff_max = \"500ms\"\n")
	pc := c.serve("--passphrase-file", cpw, "--metrics-addr", "127.0.0.1:0")
	topo := createKey(t, a, "ops:topology")
	eventually(t, "c attached on a", func() bool {
		r := a.run("", "call", "/node/peers", "--token-file", topo, "--json")
		return strings.Contains(r.out, `"peer_id":"c"`) && !strings.Contains(r.out, `"imported_ops":0`)
	})
	call := b.start("", "call", "/cluster/wait", "--input", `{"ms":60000}`, "--as-node", "--passphrase-file", bpw,
		"--addr", pa.ready.Listen, "--pin", pa.ready.Fingerprint, "--json")
	inflight := `alknet_calls_in_flight{op="node/wait"}`
	eventually(t, "node/wait running on c", func() bool { v, _ := sample(scrape(t, pc.ready.MetricsAddr), inflight); return v == "1" })
	if r := a.run("", "peers", "disable", "worker-b"); r.code != 0 {
		t.Fatalf("peers disable: %+v", r)
	}
	<-call.done
	if call.exitCode != 9 {
		t.Fatalf("worker-b's call exited %d: %s", call.exitCode, call.stdout.String())
	}
	eventually(t, "the forwarded work aborted on c", func() bool {
		body := scrape(t, pc.ready.MetricsAddr)
		v, _ := sample(body, inflight)
		n, _ := sample(body, `alknet_calls_total{code="ABORTED",op="node/wait",peer="a"}`)
		return v == "0" && n == "1"
	})
	pc.stop(syscall.SIGINT)
	pa.stop(syscall.SIGINT)
}
