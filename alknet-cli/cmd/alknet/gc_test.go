package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// firstGC matches the runtime's first GODEBUG=gctrace=1 line up to its heap goal.
var firstGC = regexp.MustCompile(`gc 1 @[^\n]*?(\d+) MB goal`)

// CLI-B1: a one-shot `alknet call` finishes without a garbage collection (its first goal is 16 MB,
// ShortLivedGCPercent), a GOGC in the environment still wins, and the other commands — init,
// which runs Argon2id, and serve — run at the runtime's default target (first goal 4 MB).
func TestShortLivedCommandsSkipCollection(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.env = append(n.env, "GODEBUG=gctrace=1")
	pw := secretFile(t, "passphrase for "+n.home+"\n")
	r := n.run("", append([]string{"init", "--passphrase-file", pw, "--mnemonic-out", filepath.Join(t.TempDir(), "words"), "--json"}, minKDF...)...)
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	if m := firstGC.FindStringSubmatch(r.err); m == nil || m[1] != "4" {
		t.Fatalf("init's first collection = %q, want the runtime default goal of 4 MB:\n%s", m, r.err)
	}
	p := n.serve("--passphrase-file", pw)
	r = n.run("", "call", "/node/ping")
	if r.code != 0 || !strings.Contains(r.out, `"echo":null`) {
		t.Fatalf("call /node/ping: %+v", r)
	}
	if m := firstGC.FindString(r.err); m != "" {
		t.Fatalf("alknet call ran a garbage collection: %s", m)
	}
	r = n.runEnv("", []string{"GOGC=1"}, "call", "/node/ping")
	if r.code != 0 || !firstGC.MatchString(r.err) {
		t.Fatalf("GOGC=1 from the environment was not honoured (no collection): %+v", r)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, p.stderr.String())
	}
	m := firstGC.FindStringSubmatch(p.stderr.String())
	if m == nil || m[1] != "4" {
		t.Fatalf("serve's first collection = %q, want the runtime default goal of 4 MB:\n%s", m, p.stderr.String())
	}
}
