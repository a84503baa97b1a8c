package main_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// firstGC matches the runtime's first GODEBUG=gctrace=1 line up to its heap goal.
var firstGC = regexp.MustCompile(`gc 1 @[^\n]* (\d+) MB goal`)

// shortLivedFirstGoal is the first heap goal at ShortLivedGCPercent: 4 MB × 400 / 100.
const shortLivedFirstGoal = 16

// defaultTarget reports whether the first collection in a gctrace output ran below the first
// goal of the raised target, i.e. at the runtime's default. Its goal is 4 MB when the heap grows
// slowly, or the heap's size when one large allocation (Argon2id's memory) crosses 4 MB at once.
func defaultTarget(trace string) (goal int, ok bool) {
	m := firstGC.FindStringSubmatch(trace)
	if m == nil {
		return 0, false
	}
	goal, err := strconv.Atoi(m[1])
	return goal, err == nil && goal < shortLivedFirstGoal
}

// CLI-B1: a one-shot `alknet call` finishes without a garbage collection (its first goal is 16 MB,
// ShortLivedGCPercent), a GOGC in the environment still wins, and the other commands — init,
// which runs Argon2id, and serve — run at the runtime's default target (a first collection below
// the raised target's first goal of 16 MB).
func TestShortLivedCommandsSkipCollection(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.env = append(n.env, "GODEBUG=gctrace=1")
	pw := secretFile(t, "passphrase for "+n.home+"\n")
	r := n.run("", append([]string{"init", "--passphrase-file", pw, "--mnemonic-out", filepath.Join(t.TempDir(), "words"), "--json"}, minKDF...)...)
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	if goal, ok := defaultTarget(r.err); !ok {
		t.Fatalf("init's first collection has goal %d MB, want one below %d MB (the runtime default target):\n%s", goal, shortLivedFirstGoal, r.err)
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
	if goal, ok := defaultTarget(p.stderr.String()); !ok {
		t.Fatalf("serve's first collection has goal %d MB, want one below %d MB (the runtime default target):\n%s", goal, shortLivedFirstGoal, p.stderr.String())
	}
}
