package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-core/auth"
)

func parse(t *testing.T, doc string) (*config.Config, []config.Problem, *config.Error) {
	t.Helper()
	c, warns, err := config.Parse([]byte(doc), "test.toml")
	if err == nil {
		return c, warns, nil
	}
	ce, ok := errors.AsType[*config.Error](err)
	if !ok {
		t.Fatalf("Parse error %T %v is not a *config.Error", err, err)
	}
	if output.Classify(err).Code != output.CodeConfigInvalid {
		t.Fatalf("code of %v is not CONFIG_INVALID", err)
	}
	return nil, nil, ce
}

// CLI-R4: an empty document is the embedded defaults.
func TestDefaults(t *testing.T) {
	t.Parallel()
	c, warns, cerr := parse(t, "")
	if cerr != nil || len(warns) != 0 {
		t.Fatalf("empty document: %v %v", cerr, warns)
	}
	d := config.Default()
	if c.Listen.Addr != "127.0.0.1:4433" || c.TLS.Mode != "vault" || c.Auth.Provider != "store" ||
		c.Store.PollInterval.D() != 50*time.Millisecond || c.Call.AnyPolicy != "first" ||
		!c.Call.ImportFromInboundPeers || c.Limits.MaxIncomingStreams != 4096 || c.Log.Level != "info" ||
		c.Limits.IdleTimeout != d.Limits.IdleTimeout || c.Version != 1 {
		t.Fatalf("defaults = %+v", c)
	}
}

// The template init writes is valid and equal to the defaults apart from listen.addr.
func TestTemplateValid(t *testing.T) {
	t.Parallel()
	c, warns, cerr := parse(t, string(config.Template("0.0.0.0:4433")))
	if cerr != nil || len(warns) != 0 {
		t.Fatalf("template: %v %v", cerr, warns)
	}
	if c.Listen.Addr != "0.0.0.0:4433" {
		t.Fatalf("listen.addr = %q", c.Listen.Addr)
	}
}

func TestEntryDefaults(t *testing.T) {
	t.Parallel()
	c, warns, cerr := parse(t, `
[[connect]]
peer_id = "head"
addr = "head.example.net:4433"

[[connect]]
peer_id = "head2"
addr = "127.0.0.1:1"
import = false
backoff_min = "10ms"
backoff_max = "20ms"

[[route]]
name = "cluster/info"
target = "node/info"
scopes = ["cluster:read"]
`)
	if cerr != nil {
		t.Fatal(cerr)
	}
	if len(warns) != 0 {
		t.Fatalf("warnings: %v", warns)
	}
	a, b := c.Connect[0], c.Connect[1]
	if !*a.Import || !*a.PresentIdentity || a.BackoffMin.D() != time.Second || a.BackoffMax.D() != time.Minute {
		t.Fatalf("connect[0] defaults = %+v", a)
	}
	if *b.Import || b.BackoffMin.D() != 10*time.Millisecond {
		t.Fatalf("connect[1] = %+v", b)
	}
	r := c.Route[0]
	if r.Type != "mutation" || len(*r.Grant) != 1 || (*r.Grant)[0] != "cluster:read" {
		t.Fatalf("route defaults = %+v", r)
	}
}

type problemCase struct {
	name, doc    string
	path         string
	line, column int
	msgPart      string
}

var problemCases = []problemCase{
	{"syntax", "[listen\n", "", 1, 8, "]"},
	{"unknown key", "[listen]\nadr = \"x:1\"\n", "listen.adr", 2, 1, "unknown key"},
	{"unknown table", "[nope]\nx = 1\n", "nope", 1, 2, "unknown key"},
	{"wrong type", "[listen]\naddr = 1\n", "listen.addr", 2, 8, "integer"},
	{"duplicate key", "[listen]\naddr = \"a:1\"\naddr = \"b:2\"\n", "listen.addr", 3, 1, "already defined"},
	{"bare integer duration", "[store]\nbusy_timeout = 5\n", "store.busy_timeout", 2, 1, "duration"},
	{"bad duration", "[store]\nbusy_timeout = \"5x\"\n", "store.busy_timeout", 2, 16, "duration"},
	{"duration in array table", "[[connect]]\npeer_id = \"a\"\naddr = \"h:1\"\nbackoff_max = 3\n", "connect[0].backoff_max", 4, 1, "duration"},
	{"version too new", "version = 2\n", "version", 1, 1, "not supported"},
	{"bad listen", "[listen]\naddr = \"nope\"\n", "listen.addr", 2, 1, "HOST:PORT"},
	{"bad tls mode", "[tls]\nmode = \"raw\"\n", "tls.mode", 2, 1, "unknown mode"},
	{"x509 without files", "[tls]\nmode = \"x509\"\n", "tls.cert_file", 1, 2, "needs"},
	{"config provider deferred", "[auth]\nprovider = \"config\"\n", "auth.provider", 2, 1, "deferred"},
	{"auth peers deferred", "[[auth.peers]]\npeer_id = \"x\"\n", "auth.peers", 1, 3, "deferred"},
	{"auto_migrate deferred", "[store]\nauto_migrate = false\n", "store.auto_migrate", 2, 1, "deferred"},
	{"call.enabled deferred", "[call]\nenabled = true\n", "call.enabled", 2, 1, "deferred"},
	{"http enabled", "[http]\nenabled = true\n", "http.enabled", 2, 1, "no HTTP gateway"},
	{"http other key", "[http]\ntcp_listen = []\n", "http.tcp_listen", 2, 1, "no HTTP gateway"},
	{"any policy", "[call]\nany_policy = \"random\"\n", "call.any_policy", 2, 1, "unknown policy"},
	{"negative limit", "[limits]\nmax_auth_attempts = -1\n", "limits.max_auth_attempts", 2, 1, "negative"},
	{"negative duration", "[limits]\ndrain_timeout = \"-1s\"\n", "limits.drain_timeout", 2, 1, "negative"},
	{"poll interval", "[store]\npoll_interval = \"10us\"\n", "store.poll_interval", 2, 1, "1ms"},
	{"log level", "[log]\nlevel = \"loud\"\n", "log.level", 2, 1, "unknown level"},
	{"metrics unspecified", "[metrics]\naddr = \"0.0.0.0:9464\"\n", "metrics.addr", 2, 1, "loopback"},
	{"metrics public", "[metrics]\naddr = \"192.0.2.1:9464\"\n", "metrics.addr", 2, 1, "loopback"},
	{"connect peer id", "[[connect]]\npeer_id = \"Head_1\"\naddr = \"h:1\"\n", "connect[0].peer_id", 2, 1, "peer id"},
	{"connect prefix", "[[connect]]\npeer_id = \"h\"\naddr = \"h:1\"\nnamespace_prefix = \"/x\"\n", "connect[0].namespace_prefix", 4, 1, "segments"},
	{"connect operations", "[[connect]]\npeer_id = \"h\"\naddr = \"h:1\"\noperations = [\"ping\"]\n", "connect[0].operations[0]", 4, 1, "operation name"},
	{"backoff order", "[[connect]]\npeer_id = \"h\"\naddr = \"h:1\"\nbackoff_min = \"2s\"\nbackoff_max = \"1s\"\n", "connect[0].backoff_min", 4, 1, "larger"},
	{"second connect entry", "[[connect]]\npeer_id = \"h\"\naddr = \"h:1\"\n[[connect]]\npeer_id = \"h\"\naddr = \"bad\"\n", "connect[1].addr", 6, 1, "HOST:PORT"},
	// CLI-R75 (CLI-T40): each route problem names the route.
	{"route builtin name", "[[route]]\nname = \"node/ping\"\ntarget = \"node/ping\"\nscopes = [\"a\"]\n", "route[0].name", 2, 1, "route \"node/ping\""},
	{"route bad name", "[[route]]\nname = \"info\"\ntarget = \"node/info\"\nscopes = [\"a\"]\n", "route[0].name", 2, 1, "route \"info\""},
	{"route bad target", "[[route]]\nname = \"c/i\"\ntarget = \"/node/info\"\nscopes = [\"a\"]\n", "route[0].target", 3, 1, "route \"c/i\""},
	{"route subscription", "[[route]]\nname = \"c/i\"\ntarget = \"node/heartbeat\"\ntype = \"subscription\"\nscopes = [\"a\"]\n", "route[0].type", 4, 1, "subscriptions"},
	{"route bad peer", "[[route]]\nname = \"c/i\"\ntarget = \"node/info\"\npeer = \"B_1\"\nscopes = [\"a\"]\n", "route[0].peer", 4, 1, "route \"c/i\""},
	{"route duplicate", "[[route]]\nname = \"c/i\"\ntarget = \"node/info\"\nscopes = [\"a\"]\n[[route]]\nname = \"c/i\"\ntarget = \"node/info\"\nscopes = [\"a\"]\n", "route[1].name", 6, 1, "route[0]"},
}

// CLI-R12, CLI-R13, CLI-R75, CLI-R80: every problem names the key with its line and column.
func TestProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range problemCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, cerr := parse(t, tc.doc)
			if cerr == nil {
				t.Fatalf("Parse(%q) succeeded", tc.doc)
			}
			for _, p := range cerr.Problems {
				if p.Path == tc.path && p.Line == tc.line && p.Column == tc.column && strings.Contains(p.Message, tc.msgPart) {
					if !strings.Contains(cerr.Error(), "test.toml:"+p.String()) {
						t.Fatalf("Error() = %q does not list %q", cerr.Error(), p.String())
					}
					return
				}
			}
			t.Fatalf("Parse(%q) problems = %+v, want path %q at %d:%d containing %q", tc.doc, cerr.Problems, tc.path, tc.line, tc.column, tc.msgPart)
		})
	}
}

// CLI-R75: a route without scopes starts with a warning naming it.
func TestRouteWithoutScopesWarns(t *testing.T) {
	t.Parallel()
	_, warns, cerr := parse(t, "[[route]]\nname = \"cluster/open\"\ntarget = \"node/info\"\n")
	if cerr != nil {
		t.Fatal(cerr)
	}
	if len(warns) != 1 || warns[0].Path != "route[0].scopes" || !strings.Contains(warns[0].Message, "cluster/open") {
		t.Fatalf("warnings = %+v", warns)
	}
}

func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:9464": true, "127.1.2.3:0": true, "[::1]:9464": true, "localhost:9464": true,
		"0.0.0.0:9464": false, "[::]:9464": false, "192.0.2.1:9464": false, "example.com:1": false, "9464": false,
	} {
		if err := config.CheckMetricsAddr(addr); (err == nil) != ok {
			t.Errorf("CheckMetricsAddr(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

// CLI-R4: a missing default file means defaults; a missing named file is CONFIG_NOT_FOUND.
func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.toml")
	l, err := config.Load(missing, false)
	if err != nil || l.Exists || l.Listen.Addr != "127.0.0.1:4433" {
		t.Fatalf("Load(missing, optional) = %+v, %v", l, err)
	}
	_, err = config.Load(missing, true)
	if e := output.Classify(err); e.Code != output.CodeConfigNotFound || output.ExitCode(e.Code) != 3 {
		t.Fatalf("Load(missing, required) = %v", err)
	}
	p := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(p, []byte("[listen]\naddr = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = config.Load(p, true)
	if err != nil || !l.Exists || l.Listen.Addr != "127.0.0.1:0" {
		t.Fatalf("Load(file) = %+v, %v", l, err)
	}
}

// config show round trip: the marshalled effective configuration parses back to itself.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	c, _, cerr := parse(t, "[[connect]]\npeer_id = \"h\"\naddr = \"h:1\"\n[[route]]\nname = \"a/b\"\ntarget = \"c/d\"\nscopes = [\"s\"]\n")
	if cerr != nil {
		t.Fatal(cerr)
	}
	b, err := config.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, cerr := parse(t, string(b))
	if cerr != nil {
		t.Fatalf("re-parse of %s: %v", b, cerr)
	}
	b2, _ := config.Marshal(c2)
	if string(b) != string(b2) {
		t.Fatalf("round trip differs:\n%s\n---\n%s", b, b2)
	}
}

// The sample configurations under testdata are valid.
func TestSamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"head.toml", "worker.toml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := config.Parse(b, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// CORE-R1001: peer ids are 1–63 characters of [a-z0-9.-] starting with a letter or digit.
func TestValidPeerID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "worker-1": true, "b.example": true, "0": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, ".a": false, "A": false, "a_b": false, "a b": false, "é": false, strings.Repeat("a", 64): false,
	} {
		if got := auth.ValidPeerID(id); got != want {
			t.Errorf("ValidPeerID(%q) = %v, want %v", id, got, want)
		}
	}
}
