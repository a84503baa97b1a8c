package cli

import (
	"fmt"
	"log/slog"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/logging"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

// session is what a command's one explicit setup call produces (CLI-R2: no PersistentPreRun
// hooks): the configuration, the resolved paths and the logger.
type session struct {
	cfg    *config.Loaded
	layout paths.Layout
	log    *slog.Logger
	level  *slog.LevelVar
}

// setup loads the configuration (flag > config > default, CLI-R4), resolves the paths and
// builds the logger (CLI-R58, CLI-R59). serve selects the serve defaults: [log] applies to
// serve only, one-shot commands log at warn.
func (inv *invocation) setup(serve bool) (*session, error) {
	return inv.setupWith(serve, false)
}

// setupWith is setup; mayCreate lets a --config file be absent (init writes it).
func (inv *invocation) setupWith(serve, mayCreate bool) (*session, error) {
	env := paths.FromEnv()
	cfgPath, err := paths.ConfigFile(inv.g.configPath, env)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath.Path, cfgPath.Source == paths.FromFlag && !mayCreate)
	if err != nil {
		return nil, err
	}
	layout, err := paths.Resolve(cfgPath, inv.g.dataDir, paths.Settings{
		DataDir: cfg.Node.DataDir, Store: cfg.Store.Path, Keystore: cfg.Vault.Keystore,
	}, env)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, layout: layout}
	if err := inv.setupLogging(s, serve); err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		s.log.Warn("config: "+w.Message, "path", w.Path, "line", w.Line, "column", w.Column)
	}
	return s, nil
}

func (inv *invocation) setupLogging(s *session, serve bool) error {
	level := slog.LevelWarn
	format := "auto"
	if serve {
		l, err := logging.ParseLevel(s.cfg.Log.Level)
		if err != nil {
			return output.Errorf(output.CodeConfigInvalid, "log.level: %v", err)
		}
		level = l
		format = s.cfg.Log.Format
	}
	level = logging.Lower(level, inv.g.verbose)
	if inv.g.logLevel != "" {
		l, err := logging.ParseLevel(inv.g.logLevel)
		if err != nil {
			return output.Errorf(output.CodeUsage, "--log-level: %v", err)
		}
		level = l
	}
	if inv.g.logFormat != "" && inv.g.logFormat != "auto" || !serve {
		format = inv.g.logFormat
	}
	isTTY := output.IsTerminal(inv.stdio.Err)
	var console bool
	switch format {
	case "console":
		console = true
	case "json":
	case "auto", "":
		console = isTTY
	default:
		return output.Errorf(output.CodeUsage, "--log-format: unknown format %q (use auto, console or json)", format)
	}
	switch inv.g.color {
	case "auto", "always", "never":
	default:
		return output.Errorf(output.CodeUsage, "--color: unknown value %q (use auto, always or never)", inv.g.color)
	}
	s.level = new(slog.LevelVar)
	s.level.Set(level)
	s.log = logging.New(logging.Options{
		Writer: inv.stdio.Err, Level: s.level, Console: console,
		Color: output.ColorEnabled(inv.g.color, isTTY),
	})
	return nil
}

// useStdin records that flag reads stdin; a second reader is a usage error (CLI-R24).
func (inv *invocation) useStdin(flag string) error {
	if inv.stdinTaken != "" && inv.stdinTaken != flag {
		return output.Errorf(output.CodeUsage, "%s and %s both read stdin; use a file for one of them", inv.stdinTaken, flag)
	}
	inv.stdinTaken = flag
	return nil
}

// progress returns the step printer for this invocation (CLI-R57): stderr when it is a
// terminal and neither --quiet nor --json is set.
func (inv *invocation) progress() output.Progress {
	if inv.g.quiet || inv.g.json || !output.IsTerminal(inv.stdio.Err) {
		return output.Progress{}
	}
	return output.Progress{W: inv.stdio.Err}
}

// printf writes human output to stdout (CLI-R53).
func (inv *invocation) printf(format string, args ...any) {
	fmt.Fprintf(inv.stdio.Out, format, args...)
}
