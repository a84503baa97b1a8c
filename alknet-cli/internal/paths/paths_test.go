package paths_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

// CLI-R4, CLI-R6: flag > config > default, and every path says where it came from.
func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	env := paths.Env{Home: "/home/u", DataHome: "/xdg/data", ConfigHome: "relative/ignored"}
	cfg, err := paths.ConfigFile("", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (paths.Path{Path: "/home/u/.config/alknet/config.toml", Source: paths.FromDefault}) {
		t.Fatalf("default config = %+v", cfg)
	}

	l, err := paths.Resolve(cfg, "", paths.Settings{}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := paths.Layout{
		Config:       cfg,
		DataDir:      paths.Path{Path: "/xdg/data/alknet", Source: paths.FromDefault},
		Store:        paths.Path{Path: "/xdg/data/alknet/alknet.db", Source: paths.FromDefault},
		Keystore:     paths.Path{Path: "/xdg/data/alknet/keystore.json", Source: paths.FromDefault},
		Lock:         paths.Path{Path: "/xdg/data/alknet/serve.lock", Source: paths.FromDefault},
		ReloadStatus: paths.Path{Path: "/xdg/data/alknet/reload.json", Source: paths.FromDefault},
	}
	if l != want {
		t.Fatalf("Resolve defaults = %+v, want %+v", l, want)
	}

	cfg = paths.Path{Path: "/etc/alknet/config.toml", Source: paths.FromFlag}
	l, err = paths.Resolve(cfg, "", paths.Settings{DataDir: "data", Store: "/srv/s.db", Keystore: "ks.json"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if l.DataDir != (paths.Path{Path: "/etc/alknet/data", Source: paths.FromConfig}) ||
		l.Store != (paths.Path{Path: "/srv/s.db", Source: paths.FromConfig}) ||
		l.Keystore != (paths.Path{Path: "/etc/alknet/ks.json", Source: paths.FromConfig}) ||
		l.Lock != (paths.Path{Path: "/etc/alknet/data/serve.lock", Source: paths.FromConfig}) {
		t.Fatalf("Resolve from config = %+v", l)
	}

	l, err = paths.Resolve(cfg, "/flag/dir", paths.Settings{DataDir: "data"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if l.DataDir != (paths.Path{Path: "/flag/dir", Source: paths.FromFlag}) || l.Store.Path != "/flag/dir/alknet.db" {
		t.Fatalf("Resolve with flag = %+v", l)
	}
}

func TestDefaultsNeedHome(t *testing.T) {
	t.Parallel()
	_, err := paths.ConfigFile("", paths.Env{})
	if e := output.Classify(err); e.Code != output.CodeConfigInvalid {
		t.Fatalf("ConfigFile without HOME: %v", err)
	}
	d, err := paths.Env{DataHome: "/abs"}.DefaultDataDir()
	if err != nil || d != "/abs/alknet" {
		t.Fatalf("DefaultDataDir = %q, %v", d, err)
	}
}

// CLI-R7: created directories are 0700, and EnsureDir reports exactly what it created.
func TestEnsureDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	target := filepath.Join(root, "a", "b")
	created, err := paths.EnsureDir(target)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || created[0] != filepath.Join(root, "a") || created[1] != target {
		t.Fatalf("created = %v", created)
	}
	for _, d := range created {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: mode %v, %v", d, fi.Mode(), err)
		}
	}
	created, err = paths.EnsureDir(target)
	if err != nil || len(created) != 0 {
		t.Fatalf("second EnsureDir = %v, %v", created, err)
	}
	file := filepath.Join(root, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := paths.EnsureDir(filepath.Join(file, "x")); err == nil {
		t.Fatal("EnsureDir below a file succeeded")
	}
}

// CLI-R9: atomic replacement with the requested mode and no temporary left behind.
func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "keystore.json")
	for _, content := range []string{"one", "two"} {
		if err := paths.WriteAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Fatalf("content = %q, %v", b, err)
		}
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(entries))
	}
	if err := paths.WriteAtomic(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Fatal("WriteAtomic into a missing directory succeeded")
	}
}

// CLI-R8: the owner passes; another owner is WRONG_OWNER with the sudo hint.
func TestCheckOwner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "alknet.db")
	if err := paths.CheckOwner(p, "store"); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := paths.CheckOwner(p, "store"); err != nil {
		t.Fatalf("own file: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	err := paths.CheckOwner(p, "store")
	e, ok := errors.AsType[*output.Error](err)
	if !ok || e.Code != output.CodeWrongOwner || output.ExitCode(e.Code) != 6 {
		t.Fatalf("foreign owner: %v", err)
	}
	if want := "sudo -u " + paths.UserName(65534) + " alknet"; !strings.Contains(e.Hint, want) {
		t.Fatalf("hint %q does not contain %q", e.Hint, want)
	}
}
