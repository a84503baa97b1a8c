package sqlitestore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// Helper-process switches: the multi-process tests re-execute this test binary with -helper
// set (spec §16 mechanics).
var (
	helperMode = flag.String("helper", "", "run as a helper process of the named kind")
	helperPath = flag.String("helper.store", "", "store path for the helper")
	helperArg  = flag.String("helper.arg", "", "helper-specific argument")
	helperN    = flag.Int("helper.n", 0, "helper-specific count")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *helperMode != "" {
		os.Exit(runHelper(*helperMode, *helperPath, *helperArg, *helperN))
	}
	goleak.VerifyTestMain(m)
}

// fp returns a valid canonical ed25519 fingerprint derived from i.
func fp(i int) string {
	h := sha256.Sum256([]byte("fingerprint-" + strconv.Itoa(i)))
	return "ed25519:" + hex.EncodeToString(h[:])
}

// certFP returns a valid canonical SHA256 (certificate) fingerprint derived from i.
func certFP(i int) string {
	h := sha256.Sum256([]byte("certificate-" + strconv.Itoa(i)))
	return "SHA256:" + hex.EncodeToString(h[:])
}

func peer(id string, fps ...string) auth.PeerEntry {
	return auth.PeerEntry{PeerID: id, Fingerprints: fps, Scopes: []string{"fs:read"}}
}

func storePath(t testing.TB) string { return filepath.Join(t.TempDir(), "peers.db") }

// open opens a store that is closed when the test ends.
func open(t testing.TB, o sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open(%s) = %v", o.Path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore creates a fresh store with fast polling.
func newStore(t testing.TB) (*sqlitestore.Store, string) {
	t.Helper()
	p := storePath(t)
	return open(t, sqlitestore.Options{Path: p, Create: true, PollInterval: 2 * time.Millisecond}), p
}

func wantCode(t testing.TB, err error, want alkerr.Code) {
	t.Helper()
	if got := alkerr.CodeOf(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// eventually polls cond until it holds or a generous deadline passes (spec §16: no test
// asserts on wall-clock durations).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func resolves(s *sqlitestore.Store, fingerprint string) (string, bool) {
	id, ok := s.Identities().ResolveFingerprint(context.Background(), fingerprint)
	return id.ID, ok
}

func resolveToken(s *sqlitestore.Store, tok string) (auth.Identity, bool) {
	return s.Identities().ResolveToken(context.Background(), auth.NewAuthToken([]byte(tok)))
}

// fakeClock is a settable clock for expiry and MaxStale.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// blob returns a valid EncryptedData whose data embeds marker.
func blob(version uint32, marker string) store.EncryptedData {
	data := []byte(marker)
	for len(data) < 16 {
		data = append(data, '.')
	}
	return store.EncryptedData{KeyVersion: version, Salt: []byte("salt-salt-salt-salt-salt-salt-32"), IV: []byte("iv-iv-iv-iv!"), Data: data}
}

// child is a helper process driven through stdin and read line by line from stdout.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // closed by the reader goroutine at EOF
}

func startHelper(t testing.TB, mode, path, arg string, n int) *child {
	t.Helper()
	return startHelperCmd(t, mode, path, arg, n, nil)
}

func startHelperCmd(t testing.TB, mode, path, arg string, n int, attr *syscall.SysProcAttr) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-helper="+mode, "-helper.store="+path, "-helper.arg="+arg, "-helper.n="+strconv.Itoa(n))
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		if attr != nil {
			t.Skipf("cannot start a helper with %+v here: %v", attr, err)
		}
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	})
	return c
}

// startHelperNS starts a helper in a new mount namespace (Linux; root).
func startHelperNS(t testing.TB, mode, path string) *child {
	t.Helper()
	return startHelperCmd(t, mode, path, "", 0, &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS})
}

// nextOf returns the next stdout line that starts with one of the prefixes, whole.
func (c *child) nextOf(t testing.TB, prefixes ...string) string {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("helper exited before printing one of %q", prefixes)
			}
			for _, p := range prefixes {
				if strings.HasPrefix(l, p) {
					return l
				}
			}
		case <-timeout.C:
			t.Fatalf("helper printed none of %q", prefixes)
		}
	}
}

// next returns the next stdout line that starts with prefix, skipping others.
func (c *child) next(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("helper exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(l, prefix))
			}
		case <-timeout.C:
			t.Fatalf("helper printed no %q line", prefix)
		}
	}
}

func (c *child) send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatalf("write to helper: %v", err)
	}
}

// wait waits for a helper that exits by itself and fails the test on a non-zero exit.
func (c *child) wait(t testing.TB) {
	t.Helper()
	for range c.lines {
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}

// runHelper runs one helper mode and returns the process exit code.
func runHelper(mode, path, arg string, n int) int {
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		_ = out.Flush()
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "helper "+mode+":", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(lockedWriter{w: out, say: say}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	base := sqlitestore.Options{Path: path, DisableWatch: true, Actor: "helper:" + mode, BusyTimeout: time.Minute}
	switch mode {
	case "steps":
		return helperSteps(ctx, base, say, fail)
	case "randwriter":
		return helperRandWriter(ctx, base, arg, n, say, fail)
	case "modify":
		s, err := sqlitestore.Open(ctx, base)
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		for i := range n {
			scope := fmt.Sprintf("%s-%d", arg, i)
			if _, err := s.Identities().ModifyPeer(ctx, "shared", func(p *auth.PeerEntry) error {
				p.Scopes = append(p.Scopes, scope)
				return nil
			}); err != nil {
				return fail(err)
			}
		}
		say("done")
		return 0
	case "putloop":
		s, err := sqlitestore.Open(ctx, base)
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		for i := 0; ; i++ {
			fps := make([]string, 16)
			for j := range fps {
				fps[j] = fp(i*100 + j)
			}
			if err := s.Identities().PutPeer(ctx, peer(fmt.Sprintf("p%d", i), fps...)); err != nil {
				return fail(err)
			}
			say("put %d", i)
		}
	case "migrate":
		o := base
		o.AutoMigrate = true
		o.Logger = logger
		o = sqlitestore.WithMigration(o, 2, "test_add_notes", arg)
		s, err := sqlitestore.Open(ctx, o)
		if err != nil {
			return fail(err)
		}
		say("done")
		_ = s.Close()
		return 0
	case "migrate-hooked":
		// Migrations 2 and 3 of TestKillMidMigration; arg names the hook point ("2 applied",
		// "3 applied") at which the helper stops and waits to be killed, or "" for none.
		o := base
		o.AutoMigrate = true
		o = withKillMigrations(o)
		o = sqlitestore.WithMigrationHook(o, func(v int, stage string) {
			say("hook %d %s", v, stage)
			if arg == fmt.Sprintf("%d %s", v, stage) {
				_, _ = io.Copy(io.Discard, os.Stdin) // until killed
			}
		})
		s, err := sqlitestore.Open(ctx, o)
		if err != nil {
			return fail(err)
		}
		say("done")
		_ = s.Close()
		return 0
	case "open-rofs":
		// Spec §12 "read-only file system": started in a new mount namespace (see
		// TestReadOnlyFileSystem), make the store's directory a read-only bind mount, then open.
		dir := filepath.Dir(path)
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			say("skip %v", err)
			return 0
		}
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			say("skip %v", err)
			return 0
		}
		if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			say("skip %v", err)
			return 0
		}
		if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
			return fail(fmt.Errorf("write on the read-only mount: %v, want EROFS", err))
		}
		s, err := sqlitestore.Open(ctx, sqlitestore.Options{Path: path, DisableWatch: true})
		if err == nil {
			_ = s.Close()
			say("result OK opened")
			return 0
		}
		var ae *alkerr.Error
		if !errors.As(err, &ae) {
			say("result UNCODED %v", err)
			return 0
		}
		say("result %s %s", ae.Code, ae.Message)
		return 0
	case "open-as":
		// T39 as root: become uid/gid arg (dropping every capability), then try to open.
		uid, err := strconv.Atoi(arg)
		if err != nil {
			return fail(err)
		}
		if err := syscall.Setgroups(nil); err != nil {
			return fail(err)
		}
		if err := syscall.Setgid(uid); err != nil {
			return fail(err)
		}
		if err := syscall.Setuid(uid); err != nil {
			return fail(err)
		}
		s, err := sqlitestore.Open(ctx, sqlitestore.Options{Path: path, DisableWatch: true})
		if err == nil {
			_ = s.Close()
			say("result OK opened")
			return 0
		}
		var ae *alkerr.Error
		if !errors.As(err, &ae) {
			say("result UNCODED %v", err)
			return 0
		}
		say("result %s %s", ae.Code, ae.Message)
		return 0
	case "rotate":
		s, err := sqlitestore.Open(ctx, base)
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		_, err = s.Credentials().Rotate(ctx, 3, sqlitestore.RotateOptions{}, func(p string, in store.EncryptedData) (store.EncryptedData, error) {
			say("rotating %s", p)
			time.Sleep(20 * time.Millisecond) // a slow re-encryption, so the parent's kill lands inside
			in.KeyVersion = 3
			return in, nil
		})
		if err != nil {
			return fail(err)
		}
		say("done")
		return 0
	case "writeloop":
		s, err := sqlitestore.Open(ctx, base)
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		for i := range n {
			if err := s.Identities().PutPeer(ctx, peer(fmt.Sprintf("w%d", i), fp(i))); err != nil {
				return fail(err)
			}
			say("put %d", i)
		}
		say("done")
		return 0
	}
	return fail(errors.New("unknown helper mode"))
}

// lockedWriter sends slog output through say, one line at a time.
type lockedWriter struct {
	w   *bufio.Writer
	say func(string, ...any)
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.say("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// helperSteps applies one change per stdin command and acknowledges each (T18).
func helperSteps(ctx context.Context, o sqlitestore.Options, say func(string, ...any), fail func(error) int) int {
	s, err := sqlitestore.Open(ctx, o)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		extra := ""
		switch f[0] {
		case "addpeer":
			err = s.Identities().PutPeer(ctx, peer(f[1], f[2]))
		case "disable":
			_, err = s.Identities().ModifyPeer(ctx, f[1], func(p *auth.PeerEntry) error {
				p.Enabled = new(bool)
				return nil
			})
		case "createkey":
			var tok interface{ Expose() string }
			sec, rec, e := s.APIKeys().Create(ctx, sqlitestore.NewAPIKey{Scopes: []string{"fs:read"}})
			tok, err = sec, e
			if e == nil {
				extra = rec.Prefix + " " + tok.Expose()
			}
		case "revoke":
			_, err = s.APIKeys().Revoke(ctx, f[1])
		case "putcred":
			err = s.Credentials().Put(ctx, f[1], blob(2, "cred-"+f[1]))
		case "quit":
			return 0
		default:
			err = errors.New("unknown step " + f[0])
		}
		if err != nil {
			return fail(err)
		}
		say("ok %s", extra)
	}
	return 0
}

// helperRandWriter performs random writes from 8 goroutines (T23). It prints the number of
// successful write calls and whether a generation was ever seen going backwards.
func helperRandWriter(ctx context.Context, o sqlitestore.Options, seed string, ops int, say func(string, ...any), fail func(error) int) int {
	o.DisableWatch = false
	o.PollInterval = 2 * time.Millisecond
	s, err := sqlitestore.Open(ctx, o)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	changes, cancel := s.Subscribe()
	var backwards bool
	var watchWG sync.WaitGroup
	watchWG.Go(func() {
		last := map[sqlitestore.Channel]int64{}
		for ch := range changes {
			for k, g := range ch.Generations {
				if g < last[k] && g >= 0 {
					backwards = true
				}
				last[k] = g
			}
		}
	})
	var mu sync.Mutex
	successes := 0
	var firstErr error
	var wg sync.WaitGroup
	base, _ := strconv.Atoi(seed)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(base), uint64(g)))
			for range ops {
				id := fmt.Sprintf("peer-%d", r.IntN(50))
				var err error
				switch r.IntN(5) {
				case 0:
					_, err = s.Identities().CreatePeer(ctx, peer(id, fp(r.IntN(400))))
				case 1:
					err = s.Identities().PutPeer(ctx, peer(id, fp(r.IntN(400))))
				case 2:
					nf := fp(r.IntN(400))
					_, err = s.Identities().ModifyPeer(ctx, id, func(p *auth.PeerEntry) error {
						p.Fingerprints = []string{nf}
						return nil
					})
				case 3:
					_, err = s.Identities().ModifyPeer(ctx, id, func(p *auth.PeerEntry) error {
						p.Enabled = new(bool)
						*p.Enabled = !p.IsEnabled()
						return nil
					})
				case 4:
					err = s.Identities().RemovePeer(ctx, id)
				}
				mu.Lock()
				switch {
				case err == nil:
					successes++
				case errors.Is(err, store.ErrNotFound) || errors.Is(err, sqlitestore.ErrConflict):
				default:
					if firstErr == nil {
						firstErr = err
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		cancel()
		watchWG.Wait()
		return fail(firstErr)
	}
	say("writes %d", successes)
	// Wait for the quiet point the parent announces, then report our index.
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "report" {
			if err := s.Refresh(ctx); err != nil {
				return fail(err)
			}
			src := s.Identities().Policy().Source()
			var ids []string
			for _, p := range src.Peers {
				ids = append(ids, p.PeerID+"="+strings.Join(p.Fingerprints, ","))
			}
			say("index %s", strings.Join(ids, ";"))
			break
		}
	}
	cancel()
	watchWG.Wait()
	say("backwards %v", backwards)
	return 0
}
