package main_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// scrape reads the node's /metrics.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/metrics", nil)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// sample returns the value of one exposition line by its exact series text.
func sample(body, series string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v, true
		}
	}
	return "", false
}

func createKey(t *testing.T, n *node, scopes ...string) string {
	t.Helper()
	args := []string{"apikeys", "create", "--json"}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	r := n.run("", args...)
	var k struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &k); err != nil || r.code != 0 {
		t.Fatalf("apikeys create: %+v", r)
	}
	return secretFile(t, k.Token)
}

// CLI-T21, CLI-T35: Ctrl-C on `alknet call` aborts the handler on the server (the metrics show
// the call ended ABORTED and nothing in flight), the same for a subscription; the scrape has the
// documented families and OK / NOT_FOUND series.
func TestInterruptAbortsRemoteWork(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	p := n.serve("--metrics-addr", "127.0.0.1:0")
	if p.ready.MetricsAddr == "" {
		t.Fatalf("ready file lacks metrics_addr: %+v", p.ready)
	}
	tok := createKey(t, n, "node:read")
	for range 2 {
		if r := n.run("", "call", "/node/ping"); r.code != 0 {
			t.Fatalf("ping: %+v", r)
		}
	}
	if r := n.run("", "call", "/no/such-op", "--json"); r.code != 4 {
		t.Fatalf("unknown op: %+v", r)
	}
	body := scrape(t, p.ready.MetricsAddr)
	if v, _ := sample(body, `alknet_calls_total{code="OK",op="node/ping",peer=""}`); v != "2" {
		t.Fatalf("ping count %q in\n%s", v, body)
	}
	if _, ok := sample(body, `alknet_calls_total{code="NOT_FOUND",op="_unknown",peer=""}`); !ok {
		t.Fatalf("no _unknown NOT_FOUND series in\n%s", body)
	}
	for _, c := range []struct {
		args []string
		op   string
	}{
		{[]string{"call", "/node/wait", "--input", `{"ms":60000}`, "--token-file", tok}, "node/wait"},
		{[]string{"subscribe", "/node/heartbeat", "--input", `{"interval_ms":60000}`, "--token-file", tok}, "node/heartbeat"},
	} {
		cl := n.start("", c.args...)
		inflight := `alknet_calls_in_flight{op="` + c.op + `"}`
		eventually(t, c.op+" in flight", func() bool { v, _ := sample(scrape(t, p.ready.MetricsAddr), inflight); return v == "1" })
		if code := cl.stop(syscall.SIGINT); code != 130 {
			t.Fatalf("%s after SIGINT exited %d: %s", c.op, code, cl.stderr.String())
		}
		eventually(t, c.op+" aborted on the server", func() bool {
			b := scrape(t, p.ready.MetricsAddr)
			v, _ := sample(b, inflight)
			a, _ := sample(b, `alknet_calls_total{code="ABORTED",op="`+c.op+`",peer=""}`)
			return v == "0" && a == "1"
		})
	}
	// CLI-T36 (part): the scrape holds no token or key prefix.
	if b := scrape(t, p.ready.MetricsAddr); strings.Contains(b, "alk_") {
		t.Fatal("an API-key prefix or token appears in /metrics")
	}
	p.stop(syscall.SIGINT)
}

// CLI-T18: peer authentication with --as-node and live disable/enable.
func TestPeerAuthAndDisable(t *testing.T) {
	t.Parallel()
	a, b := newNode(t), newNode(t)
	apw, bpw := a.initNode(), b.initNode()
	fp := func(n *node) string {
		r := n.run("", "identity", "show", "--json")
		var id struct {
			Fingerprint string `json:"fingerprint"`
		}
		_ = json.Unmarshal([]byte(r.out), &id)
		return id.Fingerprint
	}
	fpA, fpB := fp(a), fp(b)
	p := a.serve("--passphrase-file", apw)
	if r := a.run("", "peers", "add", "b", "--fingerprint", fpB, "--scope", "node:read", "--json"); r.code != 0 || !strings.Contains(r.out, `"live":true`) {
		t.Fatalf("peers add: %+v", r)
	}
	asB := []string{"--as-node", "--passphrase-file", bpw, "--addr", p.ready.Listen, "--pin", fpA}
	r := b.run("", append([]string{"call", "/node/whoami", "--json"}, asB...)...)
	if r.code != 0 || !strings.Contains(r.out, `"id":"b"`) || !strings.Contains(r.out, `"origin":"peer"`) {
		t.Fatalf("whoami as b: %+v", r)
	}
	if r := b.run("", append([]string{"call", "/node/info"}, asB...)...); r.code != 0 {
		t.Fatalf("node/info as b: %+v", r)
	}
	sub := b.start("", append([]string{"subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--json"}, asB...)...)
	eventually(t, "b's stream", func() bool { return strings.Contains(sub.stdout.String(), `"seq":2`) })
	// CLI-R44, CLI-R48: A's /node/peers lists b as an inbound, connected peer with b's key.
	topo := createKey(t, a, "ops:topology")
	r = a.run("", "call", "/node/peers", "--token-file", topo, "--json")
	var peers []struct {
		PeerID      string  `json:"peer_id"`
		Fingerprint *string `json:"fingerprint"`
		Direction   string  `json:"direction"`
		State       string  `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.out), &peers); err != nil || r.code != 0 || len(peers) != 1 ||
		peers[0].PeerID != "b" || peers[0].Direction != "inbound" || peers[0].State != "connected" || *peers[0].Fingerprint != fpB {
		t.Fatalf("/node/peers: %+v", r)
	}
	if r := a.run("", "peers", "disable", "b"); r.code != 0 {
		t.Fatalf("peers disable: %+v", r)
	}
	<-sub.done
	if sub.exitCode != 9 {
		t.Fatalf("b's subscription after disable exited %d: %s %s", sub.exitCode, sub.stdout.String(), sub.stderr.String())
	}
	if r := b.run("", append([]string{"call", "/node/info", "--json"}, asB...)...); r.code != 6 {
		t.Fatalf("node/info as disabled b: %+v", r)
	}
	a.run("", "peers", "enable", "b")
	eventually(t, "b admitted again", func() bool { return b.run("", append([]string{"call", "/node/info"}, asB...)...).code == 0 })
	p.stop(syscall.SIGINT)
}

// CLI-T41: kill -9 of serve loses nothing the commands reported.
func TestKillLosesNothing(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	pw := n.initNode()
	p := n.serve("--passphrase-file", pw)
	must := func(stdin string, args ...string) string {
		r := n.run(stdin, args...)
		if r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		return r.out
	}
	must("", "peers", "add", "w1", "--fingerprint", "ed25519:"+strings.Repeat("11", 32), "--scope", "node:read")
	must("", "peers", "add", "w2", "--fingerprint", "ed25519:"+strings.Repeat("22", 32))
	must("", "peers", "disable", "w2")
	keep := createKey(t, n, "node:read")
	gone := createKey(t, n, "node:read")
	var goneKey struct {
		Prefix string `json:"prefix"`
	}
	r := n.run("", "apikeys", "list", "--json")
	var keys []struct {
		Prefix string `json:"prefix"`
	}
	_ = json.Unmarshal([]byte(r.out), &keys)
	goneTok := readFile(t, gone)
	for _, k := range keys {
		if strings.HasPrefix(goneTok, k.Prefix) {
			goneKey.Prefix = k.Prefix
		}
	}
	must("", "apikeys", "revoke", goneKey.Prefix)
	must("secret-value", "creds", "set", "svc", "--stdin", "--passphrase-file", pw)
	before := must("", "peers", "list", "--json") + must("", "apikeys", "list", "--all", "--json") + must("", "creds", "list", "--json")
	if code := p.stop(syscall.SIGKILL); code != 137 {
		t.Fatalf("kill -9 exit %d", code)
	}
	n.serve("--passphrase-file", pw)
	after := must("", "peers", "list", "--json") + must("", "apikeys", "list", "--all", "--json") + must("", "creds", "list", "--json")
	if before != after {
		t.Fatalf("state changed across kill -9:\n%s\n---\n%s", before, after)
	}
	if r := n.run("", "call", "/node/info", "--token-file", keep); r.code != 0 {
		t.Fatalf("live key refused after restart: %+v", r)
	}
	if r := n.run("", "call", "/node/info", "--token-file", gone); r.code != 6 {
		t.Fatalf("revoked key accepted after restart: %+v", r)
	}
	must("", "store", "check", "--full")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := readAll(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CLI-T19: key rotation keeps the peer id while connected.
func TestKeyRotationWhileConnected(t *testing.T) {
	t.Parallel()
	a, b, old := newNode(t), newNode(t), newNode(t)
	apw, bpw := a.initNode(), b.initNode()
	fpOf := func(n *node) string {
		r := n.run("", "identity", "show", "--json")
		var id struct {
			Fingerprint string `json:"fingerprint"`
		}
		_ = json.Unmarshal([]byte(r.out), &id)
		return id.Fingerprint
	}
	fpA, fpB := fpOf(a), fpOf(b)
	// A copy of B's keystore from before the rotation.
	ks, err := readAll(filepath.Join(b.dataDir(), "keystore.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(old.dataDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old.dataDir(), "keystore.json"), []byte(ks), 0o600); err != nil {
		t.Fatal(err)
	}
	p := a.serve("--passphrase-file", apw)
	a.run("", "peers", "add", "b", "--fingerprint", fpB, "--scope", "node:read")
	asB := []string{"--as-node", "--passphrase-file", bpw, "--addr", p.ready.Listen, "--pin", fpA}
	sub := b.start("", append([]string{"subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--json"}, asB...)...)
	eventually(t, "the old-key stream", func() bool { return strings.Contains(sub.stdout.String(), `"seq":2`) })

	r := b.run("", "identity", "rotate", "--yes", "--passphrase-file", bpw, "--json")
	var rot struct {
		NewFingerprint string `json:"new_fingerprint"`
	}
	if err := json.Unmarshal([]byte(r.out), &rot); err != nil || r.code != 0 {
		t.Fatalf("identity rotate: %+v", r)
	}
	if r := a.run("", "peers", "rotate", "b", "--fingerprint", rot.NewFingerprint, "--keep-old"); r.code != 0 {
		t.Fatalf("peers rotate --keep-old: %+v", r)
	}
	n := strings.Count(sub.stdout.String(), "\n")
	eventually(t, "events after the rotation", func() bool { return strings.Count(sub.stdout.String(), "\n") >= n+3 })
	r = b.run("", append([]string{"call", "/node/whoami", "--json"}, asB...)...)
	if r.code != 0 || !strings.Contains(r.out, `"id":"b"`) {
		t.Fatalf("new key not authorised as b: %+v", r)
	}
	if r := a.run("", "peers", "update", "b", "--remove-fingerprint", fpB); r.code != 0 {
		t.Fatalf("remove the old fingerprint: %+v", r)
	}
	<-sub.done
	if sub.exitCode != 9 {
		t.Fatalf("old-key subscription exited %d: %s", sub.exitCode, sub.stderr.String())
	}
	oldArgs := []string{"call", "/node/info", "--json", "--as-node", "--passphrase-file", bpw, "--addr", p.ready.Listen, "--pin", fpA}
	if r := old.run("", oldArgs...); r.code != 6 {
		t.Fatalf("old key still admitted: %+v", r)
	}
	if r := b.run("", append([]string{"call", "/node/info"}, asB...)...); r.code != 0 {
		t.Fatalf("new key refused: %+v", r)
	}
	p.stop(syscall.SIGINT)
}

// CLI-T35 (refusals), CLI-T29: non-loopback metrics addresses are exit 3; a store owned by
// another user is WRONG_OWNER with the sudo hint.
func TestRefusals(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	for _, addr := range []string{"0.0.0.0:9464", "192.0.2.1:9464"} {
		r := n.run("", "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--metrics-addr", addr, "--json")
		je := expectError(t, r, 3, "CONFIG_INVALID")
		if !strings.Contains(je.Error.Message, "loopback") {
			t.Fatalf("message %q does not explain the loopback rule", je.Error.Message)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	n.initNode()
	db := filepath.Join(n.dataDir(), "alknet.db")
	if err := os.Chown(db, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	r := n.run("", "peers", "list", "--json")
	je := expectError(t, r, 6, "WRONG_OWNER")
	if !strings.Contains(r.err, "sudo -u ") || !strings.Contains(je.Error.Message, db) {
		t.Fatalf("no sudo hint or path: %+v", r)
	}
}

// CLI-T39 (first part), CLI-R49: revoking one API key ends its running subscription with
// FORBIDDEN (exit 6) while another key's subscription keeps running.
func TestRevokeEndsOnlyThatKeysStream(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	p := n.serve()
	mk := func() (string, string) {
		r := n.run("", "apikeys", "create", "--scope", "node:read", "--json")
		var k struct {
			Prefix string `json:"prefix"`
			Token  string `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.out), &k); err != nil {
			t.Fatalf("apikeys create: %+v", r)
		}
		return k.Prefix, secretFile(t, k.Token)
	}
	p1, t1 := mk()
	_, t2 := mk()
	args := []string{"subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--json", "--token-file"}
	s1 := n.start("", append(args, t1)...)
	s2 := n.start("", append(args, t2)...)
	eventually(t, "both streams", func() bool {
		return strings.Contains(s1.stdout.String(), `"seq":2`) && strings.Contains(s2.stdout.String(), `"seq":2`)
	})
	if r := n.run("", "apikeys", "revoke", p1); r.code != 0 {
		t.Fatalf("revoke: %+v", r)
	}
	<-s1.done
	if s1.exitCode != 6 || !strings.Contains(s1.stdout.String(), `"code":"FORBIDDEN"`) {
		t.Fatalf("revoked stream: exit %d, %q", s1.exitCode, s1.stdout.String())
	}
	k := strings.Count(s2.stdout.String(), "\n")
	eventually(t, "the other stream to continue", func() bool { return strings.Count(s2.stdout.String(), "\n") >= k+3 })
	s2.stop(syscall.SIGINT)
	p.stop(syscall.SIGINT)
}
