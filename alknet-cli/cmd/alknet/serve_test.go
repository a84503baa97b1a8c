package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyInfo is the --ready-file content (CLI-R72).
type readyInfo struct {
	Listen      string   `json:"listen"`
	Fingerprint string   `json:"fingerprint"`
	ALPNs       []string `json:"alpns"`
	PID         int      `json:"pid"`
	MetricsAddr string   `json:"metrics_addr"`
}

// proc is a running alknet child.
type proc struct {
	t        testing.TB
	cmd      *exec.Cmd
	stdout   *lockedBuffer
	stderr   *lockedBuffer
	done     chan struct{}
	exitCode int
	ready    readyInfo
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs alknet in the background; the child is killed at cleanup if still running.
func (n *node) start(stdin string, args ...string) *proc {
	n.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = n.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = strings.NewReader(stdin)
	p := &proc{t: n.t, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		p.exitCode = 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			p.exitCode = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.exitCode = 128 + int(ws.Signal())
			}
		}
	}()
	n.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		checkRace(n.t, p.exitCode, p.stderr.String())
	})
	return p
}

// serve starts `alknet serve` with a ready file and waits for it (CLI-R78).
func (n *node) serve(args ...string) *proc {
	n.t.Helper()
	rf := filepath.Join(n.t.TempDir(), "ready.json")
	p := n.start("", append([]string{"serve", "--listen", "127.0.0.1:0", "--ready-file", rf}, args...)...)
	deadline := time.After(90 * time.Second)
	for {
		b, err := os.ReadFile(rf)
		if err == nil && json.Unmarshal(b, &p.ready) == nil {
			return p
		}
		select {
		case <-p.done:
			n.t.Fatalf("serve exited %d before ready:\n%s", p.exitCode, p.stderr.String())
		case <-deadline:
			n.t.Fatalf("serve not ready:\n%s", p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// signal sends sig and waits for the exit.
func (p *proc) stop(sig syscall.Signal) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("process did not exit after %v:\n%s", sig, p.stderr.String())
	}
	return p.exitCode
}

// eventually retries fn until it returns true, within a deadline (never a fixed sleep).
func eventually(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func secretFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var minKDF = []string{"--kdf-time", "1", "--kdf-memory", "8", "--kdf-threads", "1"}

// initNode runs a non-interactive init with a passphrase file and returns that file.
func (n *node) initNode() string {
	n.t.Helper()
	pw := secretFile(n.t, "passphrase for "+n.home+"\n")
	out := filepath.Join(n.t.TempDir(), "words")
	r := n.run("", append([]string{"init", "--passphrase-file", pw, "--mnemonic-out", out, "--json"}, minKDF...)...)
	if r.code != 0 {
		n.t.Fatalf("init: %+v", r)
	}
	return pw
}

// CLI-T33, CLI-R39: the README's command on an empty home starts, warns about the ephemeral
// identity, creates the store under XDG_DATA_HOME, answers a second process found through the
// lock file, and exits 0 on SIGINT leaving the lock file empty and no ready file.
func TestEmbeddedDefaults(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	p := n.serve()
	if len(p.ready.ALPNs) != 1 || p.ready.ALPNs[0] != "alknet/call" || !strings.HasPrefix(p.ready.Fingerprint, "ed25519:") {
		t.Fatalf("ready = %+v", p.ready)
	}
	if _, err := os.Stat(filepath.Join(n.dataDir(), "alknet.db")); err != nil {
		t.Fatalf("store not under XDG_DATA_HOME: %v", err)
	}
	r := n.run("", "call", "/node/ping", "--input", `{"x":1}`, "--json")
	var out struct {
		Echo map[string]int `json:"echo"`
		Time string         `json:"time"`
	}
	decodeJSON(t, r.out, &out)
	if r.code != 0 || out.Echo["x"] != 1 {
		t.Fatalf("call /node/ping: %+v", r)
	}
	// Input from a file and from stdin (cli.md §7.8).
	in := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(in, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := n.run("", "call", "node/ping", "--input", "@"+in); r.code != 0 || !strings.Contains(r.out, `"echo":{"from":"file"}`) {
		t.Fatalf("--input @FILE: %+v", r)
	}
	if r := n.run(`{"from":"stdin"}`, "call", "/node/ping", "--input", "-"); r.code != 0 || !strings.Contains(r.out, `"echo":{"from":"stdin"}`) {
		t.Fatalf("--input -: %+v", r)
	}
	if r := n.run("", "call", "/node/ping"); r.code != 0 || !strings.Contains(r.out, `"echo":null`) {
		t.Fatalf("no --input sends null: %+v", r)
	}
	r = n.run("", "identity", "show", "--json")
	if r.code != 0 || !strings.Contains(r.out, p.ready.Fingerprint) || !strings.Contains(r.out, `"source":"ephemeral"`) {
		t.Fatalf("identity show of an ephemeral node: %+v", r)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit after SIGINT = %d\n%s", code, p.stderr.String())
	}
	logs := p.stderr.String()
	for _, want := range []string{"ephemeral identity", p.ready.Listen, p.ready.Fingerprint, "shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve log lacks %q", want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(n.dataDir(), "serve.lock")); err != nil || len(b) != 0 {
		t.Fatalf("lock file after exit = %q, %v", b, err)
	}
}

// CLI-T16, CLI-T17: init → serve → calls from other processes, API keys live, pins.
func TestInitServeCall(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	pw := n.initNode()
	r := n.run("", "identity", "show", "--json")
	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	_ = json.Unmarshal([]byte(r.out), &id)
	p := n.serve("--passphrase-file", pw)
	if p.ready.Fingerprint != id.Fingerprint {
		t.Fatalf("serve presents %s, keystore says %s", p.ready.Fingerprint, id.Fingerprint)
	}
	r = n.run("", "call", "/node/ping", "--input", `{"x":1}`, "--json")
	if r.code != 0 || !strings.HasPrefix(r.out, `{"echo":{"x":1},`) {
		t.Fatalf("call: %+v", r)
	}
	opsNames := func(extra ...string) []string {
		r := n.run("", append([]string{"ops", "list", "--json"}, extra...)...)
		if r.code != 0 {
			t.Fatalf("ops list: %+v", r)
		}
		var res struct {
			Operations []struct {
				Name string `json:"name"`
			} `json:"operations"`
		}
		if err := json.Unmarshal([]byte(r.out), &res); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range res.Operations {
			names = append(names, o.Name)
		}
		return names
	}
	anon := strings.Join(opsNames(), " ")
	if !strings.Contains(anon, "node/ping") || !strings.Contains(anon, "node/whoami") || !strings.Contains(anon, "services/list") || strings.Contains(anon, "node/info") {
		t.Fatalf("anonymous ops list = %s", anon)
	}
	// CLI-T17: API key lifecycle, live.
	expectError(t, n.run("", "call", "/node/info", "--json"), 6, "FORBIDDEN")
	r = n.run("", "apikeys", "create", "--scope", "node:read", "--json")
	var key struct {
		Prefix string `json:"prefix"`
		Token  string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &key); err != nil || r.code != 0 {
		t.Fatalf("apikeys create: %+v", r)
	}
	tok := secretFile(t, key.Token+"\n")
	if names := strings.Join(opsNames("--token-file", tok), " "); !strings.Contains(names, "node/info") {
		t.Fatalf("ops list with node:read = %s", names)
	}
	r = n.run("", "call", "/node/info", "--token-file", tok, "--json")
	if r.code != 0 || !strings.Contains(r.out, `"fingerprint":"`+id.Fingerprint+`"`) {
		t.Fatalf("call /node/info with a key: %+v", r)
	}
	r = n.run("", "call", "/node/whoami", "--token-file", tok, "--json")
	if r.code != 0 || !strings.Contains(r.out, `"id":"`+key.Prefix+`"`) || !strings.Contains(r.out, `"origin":"api_key"`) {
		t.Fatalf("whoami with a key: %+v", r)
	}

	// A subscription streams to stdout; SIGINT ends it with 130.
	sub := n.start("", "subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--token-file", tok)
	eventually(t, "three heartbeat lines", func() bool { return strings.Count(sub.stdout.String(), "\n") >= 3 })
	if code := sub.stop(syscall.SIGINT); code != 130 {
		t.Fatalf("subscribe after SIGINT exited %d: %s", code, sub.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(sub.stdout.String()), "\n")
	prev := int64(0)
	for _, l := range lines {
		var ev struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Seq <= prev {
			t.Fatalf("event %q after seq %d", l, prev)
		}
		prev = ev.Seq
	}
	// CLI-R71: a reader that goes away (`| head -1`) is a normal end: exit 0.
	pipeSub(t, n, tok)

	// Pins (CLI-R36, D7).
	expectError(t, n.run("", "call", "/node/ping", "--addr", p.ready.Listen, "--json"), 2, "USAGE")
	wrong := "ed25519:" + strings.Repeat("ab", 32)
	r = n.run("", "call", "/node/ping", "--addr", p.ready.Listen, "--pin", wrong, "--json")
	je := expectError(t, r, 9, "SERVER_UNTRUSTED")
	if !strings.Contains(je.Error.Message, p.ready.Fingerprint) {
		t.Fatalf("untrusted message does not name the presented key: %q", je.Error.Message)
	}
	if r := n.run("", "call", "/node/ping", "--addr", p.ready.Listen, "--pin", strings.ToUpper(p.ready.Fingerprint)); r.code != 0 {
		t.Fatalf("call with the right pin: %+v", r)
	}
	// Input must be JSON before anything is sent.
	expectError(t, n.run("", "call", "/node/ping", "--input", "{nope", "--json"), 2, "INVALID_INPUT")

	// Revocation is live: the same call is eventually refused without restart (CLI-T17).
	if r := n.run("", "apikeys", "revoke", key.Prefix, "--json"); r.code != 0 || !strings.Contains(r.out, `"live":true`) {
		t.Fatalf("apikeys revoke: %+v", r)
	}
	eventually(t, "the revoked key to be refused", func() bool {
		return n.run("", "call", "/node/info", "--token-file", tok).code == 6
	})
	// A key with a short expiry works, then is refused.
	r = n.run("", "apikeys", "create", "--scope", "node:read", "--expires", "3s", "--json")
	if err := json.Unmarshal([]byte(r.out), &key); err != nil || r.code != 0 {
		t.Fatalf("apikeys create --expires 3s: %+v", r)
	}
	short := secretFile(t, key.Token)
	if r := n.run("", "call", "/node/info", "--token-file", short); r.code != 0 {
		t.Fatalf("fresh short-lived key: %+v", r)
	}
	eventually(t, "the expired key to be refused", func() bool {
		return n.run("", "call", "/node/info", "--token-file", short).code == 6
	})
	expectError(t, n.run("", "apikeys", "create", "--scope", "x", "--expires", "2020-01-01", "--json"), 2, "INVALID_INPUT")

	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("serve exit after SIGTERM = %d", code)
	}
}

// pipeSub runs `alknet subscribe … | head -1`: the reader closes after one line.
func pipeSub(t *testing.T, n *node, tok string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--token-file", tok)
	cmd.Env = n.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, `"seq":1`) {
		t.Fatalf("first line %q, %v", line, err)
	}
	out.Close()
	err = cmd.Wait()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	}
	checkRace(t, code, errb.String())
	if code != 0 {
		t.Fatalf("subscribe | head -1 exited %d: %s", code, errb.String())
	}
}

// CLI-T28: a second serve on the same data dir is INSTANCE_RUNNING naming the PID; after
// SIGKILL of the first a new one starts (no stale lock).
func TestInstanceLock(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	p := n.serve()
	r := n.run("", "serve", "--listen", "127.0.0.1:0", "--json")
	var je jsonErr
	dec := json.NewDecoder(strings.NewReader(r.out))
	if err := dec.Decode(&je); err != nil || r.code != 5 || je.Error.Code != "INSTANCE_RUNNING" ||
		!strings.Contains(je.Error.Message, itoa(p.ready.PID)) {
		t.Fatalf("second serve: %+v", r)
	}
	if code := p.stop(syscall.SIGKILL); code != 128+9 {
		t.Fatalf("kill -9 exit = %d", code)
	}
	p2 := n.serve()
	if r := n.run("", "call", "/node/ping"); r.code != 0 {
		t.Fatalf("call after restart: %+v", r)
	}
	p2.stop(syscall.SIGINT)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// CLI-T30: SIGTERM with an open subscription: the client ends with CONNECTION_LOST (exit 9),
// the server exits 0, removes its ready file and leaves the lock file empty.
func TestSigtermDrains(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	p := n.serve()
	r := n.run("", "apikeys", "create", "--scope", "node:read", "--json")
	var key struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &key); err != nil {
		t.Fatalf("apikeys create: %+v", r)
	}
	tok := secretFile(t, key.Token)
	sub := n.start("", "subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--token-file", tok, "--json")
	eventually(t, "the first event", func() bool { return strings.Contains(sub.stdout.String(), `"seq":1`) })
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("serve exit = %d\n%s", code, p.stderr.String())
	}
	<-sub.done
	if sub.exitCode != 9 || !strings.Contains(sub.stdout.String(), `"code":"CONNECTION_LOST"`) {
		t.Fatalf("subscriber exit %d, out %q, err %q", sub.exitCode, sub.stdout.String(), sub.stderr.String())
	}
	if b, err := os.ReadFile(filepath.Join(n.dataDir(), "serve.lock")); err != nil || len(b) != 0 {
		t.Fatalf("lock file = %q, %v", b, err)
	}
}

// CLI-T10: a protected keystore and no terminal and no source: PASSPHRASE_REQUIRED, whatever
// the environment holds.
func TestServeNeverReadsEnvironment(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.initNode()
	r := n.runEnv("", []string{"ALKNET_PASSPHRASE=x", "ALKNET_MNEMONIC=abandon", "PASSPHRASE=x", "OPENAI_API_KEY=sk-x"},
		"serve", "--listen", "127.0.0.1:0", "--json")
	var je jsonErr
	dec := json.NewDecoder(strings.NewReader(r.out))
	if err := dec.Decode(&je); err != nil || r.code != 6 || je.Error.Code != "PASSPHRASE_REQUIRED" {
		t.Fatalf("serve without a passphrase source: %+v", r)
	}
}

// CLI-T34 (part): the named failures, each with its code and a message naming the
// object.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.initNode()
	wrong := secretFile(t, "wrong")
	firstJSON := func(r procResult) jsonErr {
		var je jsonErr
		_ = json.NewDecoder(strings.NewReader(r.out)).Decode(&je)
		return je
	}
	r := n.run("", "serve", "--listen", "127.0.0.1:0", "--passphrase-file", wrong, "--json")
	if je := firstJSON(r); r.code != 6 || je.Error.Code != "WRONG_PASSPHRASE" {
		t.Fatalf("wrong passphrase: %+v", r)
	}
	r = n.run("", "--config", filepath.Join(n.home, "nope.toml"), "serve", "--json")
	if je := firstJSON(r); r.code != 3 || je.Error.Code != "CONFIG_NOT_FOUND" || !strings.Contains(je.Error.Message, "nope.toml") {
		t.Fatalf("missing config: %+v", r)
	}
	// Port in use: a UDP socket the test holds.
	pc, err := (&net.ListenConfig{}).ListenPacket(t.Context(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r = n.run("", "serve", "--ephemeral", "--listen", pc.LocalAddr().String(), "--json")
	if je := firstJSON(r); r.code != 9 || je.Error.Code != "BIND_FAILED" || !strings.Contains(je.Error.Message, pc.LocalAddr().String()) {
		t.Fatalf("port in use: %+v", r)
	}
	// Unreachable --addr.
	r = n.run("", "call", "/node/ping", "--addr", pc.LocalAddr().String(), "--pin", "ed25519:"+strings.Repeat("00", 32), "--connect-timeout", "1s", "--json")
	if je := firstJSON(r); r.code != 9 || je.Error.Code != "CONNECT_FAILED" {
		t.Fatalf("unreachable addr: %+v", r)
	}
	// Corrupt store (CLI-T25): serve exits 8 naming the file and leaves it unchanged.
	db := filepath.Join(n.dataDir(), "alknet.db")
	garbage := bytes.Repeat([]byte("not sqlite"), 512)
	if err := os.WriteFile(db, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(db + "-wal")
	_ = os.Remove(db + "-shm")
	listDir := func() string {
		es, _ := os.ReadDir(n.dataDir())
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return strings.Join(names, ",")
	}
	before := listDir()
	r = n.run("", "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--json")
	if je := firstJSON(r); r.code != 8 || je.Error.Code != "STORE_CORRUPT" || !strings.Contains(je.Error.Message, "alknet.db") {
		t.Fatalf("corrupt store: %+v", r)
	}
	if after := listDir(); after != before {
		t.Fatalf("files changed next to a corrupt store: %s -> %s", before, after)
	}
	if b, _ := os.ReadFile(db); !bytes.Equal(b, garbage) {
		t.Fatal("serve changed the corrupt store")
	}
	_ = io.Discard
}

// CLI-T30 (second part), CLI-R50: a second SIGTERM during a long drain exits 130 at once.
func TestSecondSignalDuringDrain(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[limits]\ndrain_timeout = \"30s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := n.serve()
	r := n.run("", "apikeys", "create", "--scope", "node:read", "--json")
	var key struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.out), &key); err != nil {
		t.Fatalf("apikeys create: %+v", r)
	}
	sub := n.start("", "subscribe", "/node/heartbeat", "--input", `{"interval_ms":100}`, "--token-file", secretFile(t, key.Token))
	eventually(t, "the first event", func() bool { return strings.Contains(sub.stdout.String(), `"seq":1`) })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, "the shutting down line", func() bool { return strings.Contains(p.stderr.String(), "shutting down") })
	if code := p.stop(syscall.SIGTERM); code != 130 {
		t.Fatalf("second SIGTERM: exit %d", code)
	}
}

// CLI-R51: a store unusable beyond store.max_stale stops the node with exit 8
// (STORE_UNAVAILABLE) after a graceful shutdown.
func TestStoreFailClosedStopsNode(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	cfg := filepath.Join(n.home, ".config", "alknet", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[store]\nmax_stale = \"300ms\"\npoll_interval = \"10ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := n.serve("--json")
	db := filepath.Join(n.dataDir(), "alknet.db")
	if err := os.Rename(db, db+".moved"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the node kept serving on a failed store:\n%s", p.stderr.String())
	}
	if p.exitCode != 8 || !strings.Contains(p.stdout.String(), `"code":"STORE_UNAVAILABLE"`) {
		t.Fatalf("exit %d, stdout %q", p.exitCode, p.stdout.String())
	}
}
