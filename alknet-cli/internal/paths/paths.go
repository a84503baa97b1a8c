// Package paths resolves where the alknet command keeps its files (XDG base directories, the
// data-dir layout of cli.md §3.1), creates directories and files with the modes of CLI-R7, writes
// files atomically (CLI-R9), checks ownership (CLI-R8) and holds the instance lock (CLI-R10,
// CLI-R11). It is one of the two packages allowed to read the environment (CLI-R19, CLI-R20).
package paths

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// Source says where a resolved path came from (CLI-R6).
type Source string

// The sources of a resolved path.
const (
	FromFlag    Source = "flag"
	FromConfig  Source = "config"
	FromDefault Source = "default"
)

// Path is a resolved absolute path and where it came from. The JSON names are the
// `config paths --json` shape (CLI-R77).
type Path struct {
	Path   string `json:"path"`
	Source Source `json:"source"`
}

// Env holds the environment variables that decide default locations (CLI-R19). The zero value
// has no home directory, so defaults cannot be resolved from it.
type Env struct {
	Home       string // HOME
	ConfigHome string // XDG_CONFIG_HOME
	DataHome   string // XDG_DATA_HOME
}

// FromEnv reads HOME, XDG_CONFIG_HOME and XDG_DATA_HOME. When HOME is unset it falls back to
// the user database (os.UserHomeDir).
func FromEnv() Env {
	e := Env{Home: os.Getenv("HOME"), ConfigHome: os.Getenv("XDG_CONFIG_HOME"), DataHome: os.Getenv("XDG_DATA_HOME")}
	if e.Home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			e.Home = h
		}
	}
	return e
}

// xdg returns the XDG directory named by value, or home/fallback when value is empty or not
// absolute (the XDG specification ignores relative values).
func (e Env) xdg(value, fallback string) (string, error) {
	if value != "" && filepath.IsAbs(value) {
		return filepath.Clean(value), nil
	}
	if e.Home == "" {
		return "", output.Errorf(output.CodeConfigInvalid,
			"cannot resolve the default location: HOME is not set").
			WithHint("pass --config and --data-dir explicitly")
	}
	return filepath.Join(e.Home, fallback), nil
}

// DefaultConfigFile is $XDG_CONFIG_HOME/alknet/config.toml (cli.md §3.1).
func (e Env) DefaultConfigFile() (string, error) {
	d, err := e.xdg(e.ConfigHome, ".config")
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "alknet", "config.toml"), nil
}

// DefaultDataDir is $XDG_DATA_HOME/alknet (cli.md §3.1).
func (e Env) DefaultDataDir() (string, error) {
	d, err := e.xdg(e.DataHome, filepath.Join(".local", "share"))
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "alknet"), nil
}

// ConfigFile resolves the config file: the --config flag when set (made absolute), else the
// default location.
func ConfigFile(flag string, env Env) (Path, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return Path{}, fmt.Errorf("resolve --config %s: %w", flag, err)
		}
		return Path{Path: abs, Source: FromFlag}, nil
	}
	p, err := env.DefaultConfigFile()
	if err != nil {
		return Path{}, err
	}
	return Path{Path: p, Source: FromDefault}, nil
}

// Layout is every file location the command uses (cli.md §3.1). The JSON names are the
// `config paths --json` shape (CLI-R77).
type Layout struct {
	Config       Path `json:"config"`
	DataDir      Path `json:"data_dir"`
	Store        Path `json:"store"`
	Keystore     Path `json:"keystore"`
	Lock         Path `json:"lock"`
	ReloadStatus Path `json:"reload_status"`
}

// Settings are the path settings a config file may hold; empty means the default.
type Settings struct {
	DataDir  string // node.data_dir
	Store    string // store.path
	Keystore string // vault.keystore
}

// Resolve builds the layout with flag > config > default precedence (CLI-R4). Relative paths
// from the config file are taken relative to the config file's directory; a relative
// --data-dir is taken relative to the working directory.
func Resolve(config Path, dataDirFlag string, s Settings, env Env) (Layout, error) {
	l := Layout{Config: config}
	base := filepath.Dir(config.Path)
	fromConfig := func(v string) string {
		if filepath.IsAbs(v) {
			return filepath.Clean(v)
		}
		return filepath.Join(base, v)
	}
	switch {
	case dataDirFlag != "":
		abs, err := filepath.Abs(dataDirFlag)
		if err != nil {
			return Layout{}, fmt.Errorf("resolve --data-dir %s: %w", dataDirFlag, err)
		}
		l.DataDir = Path{abs, FromFlag}
	case s.DataDir != "":
		l.DataDir = Path{fromConfig(s.DataDir), FromConfig}
	default:
		d, err := env.DefaultDataDir()
		if err != nil {
			return Layout{}, err
		}
		l.DataDir = Path{d, FromDefault}
	}
	inData := func(name string) Path {
		return Path{filepath.Join(l.DataDir.Path, name), l.DataDir.Source}
	}
	l.Store = inData("alknet.db")
	if s.Store != "" {
		l.Store = Path{fromConfig(s.Store), FromConfig}
	}
	l.Keystore = inData("keystore.json")
	if s.Keystore != "" {
		l.Keystore = Path{fromConfig(s.Keystore), FromConfig}
	}
	l.Lock = inData("serve.lock")
	l.ReloadStatus = inData("reload.json")
	return l, nil
}

// Exists reports whether path names an existing file system object. Errors other than
// "does not exist" count as existing, so callers go on to fail with the real error.
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}
