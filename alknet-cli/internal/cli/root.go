package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// globals holds the global flags of one invocation (cli.md §7).
type globals struct {
	configPath  string
	dataDir     string
	json        bool
	quiet       bool
	verbose     int
	logLevel    string
	logFormat   string
	color       string
	busyTimeout time.Duration
	yes         bool
}

// invocation is the state of one Main call; nothing outlives it.
type invocation struct {
	stdio      Stdio
	g          globals
	stdinTaken string // the flag that already reads stdin (CLI-R24)
}

func (inv *invocation) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "alknet",
		Short:         "Run and manage an alknet node",
		Long:          "alknet runs a QUIC node serving the alknet/call protocol and manages its identity, peers, API keys and credentials.",
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Help, usage and completion scripts go to the invocation's streams, never os.Stdout
	// (CLI-R1). The completion command captures its writer when created, so this comes first.
	root.SetIn(inv.stdio.In)
	root.SetOut(inv.stdio.Out)
	root.SetErr(inv.stdio.Err)
	root.SetVersionTemplate("alknet version {{.Version}}\n")
	root.SuggestionsMinimumDistance = 2
	f := root.PersistentFlags()
	f.StringVar(&inv.g.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/alknet/config.toml)")
	f.StringVar(&inv.g.dataDir, "data-dir", "", "data directory (default $XDG_DATA_HOME/alknet)")
	f.BoolVar(&inv.g.json, "json", false, "print results and errors as JSON")
	f.BoolVarP(&inv.g.quiet, "quiet", "q", false, "print less")
	f.CountVarP(&inv.g.verbose, "verbose", "v", "log more (repeatable)")
	f.StringVar(&inv.g.logLevel, "log-level", "", "log level: trace, debug, info, warn or error")
	f.StringVar(&inv.g.logFormat, "log-format", "auto", "log format: auto, console or json")
	f.StringVar(&inv.g.color, "color", "auto", "colour: auto, always or never")
	f.DurationVar(&inv.g.busyTimeout, "busy-timeout", 0, "how long to wait for the store's write lock (default from config)")
	f.BoolVarP(&inv.g.yes, "yes", "y", false, "answer yes to confirmations")

	root.AddCommand(
		inv.newVersionCmd(),
		inv.newConfigCmd(),
		inv.newInitCmd(),
		inv.newIdentityCmd(),
		inv.newPeersCmd(),
		inv.newAPIKeysCmd(),
		inv.newCredsCmd(),
		inv.newVaultCmd(),
		inv.newStoreCmd(),
		inv.newServeCmd(),
		inv.newCallCmd(),
		inv.newSubscribeCmd(),
		inv.newOpsCmd(),
	)
	inv.addCompletions(root)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			group(c)
		}
	}
	return root
}

// group makes a command that only holds subcommands reject unknown ones (CLI-R2): cobra would
// print help and exit 0 for `alknet peers bogus`.
func group(cmd *cobra.Command, children ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(children...)
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return usageError(msg, c.CommandPath())
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	return cmd
}

// run wraps a command body (CLI-R2, CLI-R3): it runs under a context cancelled on SIGINT and
// SIGTERM (the notification stops as soon as it fires, so a second signal ends the process),
// and whatever it returns carries a code: an uncoded error becomes INTERNAL, a cancelled
// context INTERRUPTED.
func run(fn func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		context.AfterFunc(ctx, stop)
		return coded(ctx, fn(ctx, cmd, args))
	}
}

// coded gives err a CLI code (CLI-R2, CLI-R62).
func coded(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if _, ok := errors.AsType[*output.Error](err); !ok {
			return &output.Error{Code: output.CodeInterrupted, Message: "interrupted", Err: err}
		}
	}
	return output.Classify(err)
}
