package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/node"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

func (inv *invocation) newConfigCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "config",
		Short: "Validate, show and locate the configuration",
	},
		inv.newConfigValidateCmd(),
		inv.newConfigShowCmd(),
		inv.newConfigPathsCmd(),
		inv.newConfigReloadCmd(),
	)
}

// validateReport is the `config validate --json` shape (cli.md §7.10).
type validateReport struct {
	OK       bool             `json:"ok"`
	Errors   []config.Problem `json:"errors"`
	Warnings []config.Problem `json:"warnings"`
}

func (inv *invocation) newConfigValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file (exit 0 when valid, 3 when not)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			rep := validateReport{OK: err == nil, Errors: []config.Problem{}, Warnings: []config.Problem{}}
			var file string
			if err != nil {
				cerr, ok := errors.AsType[*config.Error](err)
				if !ok {
					return err
				}
				rep.Errors, file = cerr.Problems, cerr.File
			} else {
				rep.Warnings, file = append(rep.Warnings, s.cfg.Warnings...), s.cfg.File
				errs, warns := inv.validateAgainstStore(ctx, s)
				rep.Errors = append(rep.Errors, errs...)
				rep.Warnings = append(rep.Warnings, warns...)
				rep.OK = len(rep.Errors) == 0
			}
			if inv.g.json {
				if err := output.WriteJSON(inv.stdio.Out, rep, false); err != nil {
					return err
				}
			} else {
				if s != nil && !s.cfg.Exists {
					inv.printf("%s does not exist: the embedded defaults apply and are valid\n", file)
				} else if rep.OK {
					inv.printf("%s is valid\n", file)
				}
				for _, p := range rep.Errors {
					inv.printf("%s:%s\n", file, p)
				}
				for _, p := range rep.Warnings {
					inv.printf("%s:%s (warning)\n", file, p)
				}
			}
			if !rep.OK {
				return &output.Error{Code: output.CodeConfigInvalid, Silent: inv.g.json,
					Message: "configuration " + file + " is invalid", Hint: "fix the problems listed above"}
			}
			return nil
		}),
	}
}

func (inv *invocation) newConfigShowCmd() *cobra.Command {
	var defaults bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (defaults filled in)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			c := config.Default()
			if !defaults {
				s, err := inv.setup(false)
				if err != nil {
					return err
				}
				c = s.cfg.Config
			}
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, c, output.IsTerminal(inv.stdio.Out))
			}
			b, err := config.Marshal(c)
			if err != nil {
				return err
			}
			_, err = inv.stdio.Out.Write(b)
			return err
		}),
	}
	cmd.Flags().BoolVar(&defaults, "defaults", false, "print the built-in defaults instead")
	return cmd
}

func (inv *invocation) newConfigPathsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "paths",
		Short: "Print every resolved path and where it came from",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			l := s.layout
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, l, false)
			}
			rows := [][]string{}
			for _, r := range []struct {
				name string
				p    paths.Path
			}{
				{"config", l.Config}, {"data_dir", l.DataDir}, {"store", l.Store},
				{"keystore", l.Keystore}, {"lock", l.Lock}, {"reload_status", l.ReloadStatus},
			} {
				rows = append(rows, []string{r.name, r.p.Path, string(r.p.Source)})
			}
			return output.Table(inv.stdio.Out, []string{"WHAT", "PATH", "SOURCE"}, rows)
		}),
	}
}

func (inv *invocation) newConfigReloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Validate the file, then make the running node re-read it (SIGHUP) and print the outcome",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false) // an invalid file is refused here, before any signal (exit 3)
			if err != nil {
				return err
			}
			state, li, err := paths.ProbeLock(s.layout.Lock.Path)
			if err != nil {
				return err
			}
			if state != paths.Running {
				return output.Errorf(output.CodeNodeNotRunning, "no node is running from %s", s.layout.DataDir.Path).
					WithHint("start it with `alknet serve`; the file is read at start")
			}
			before, err := node.ReadReloadStatus(s.layout.ReloadStatus.Path)
			if err != nil {
				return err
			}
			// The lock is held (CLI-R11): the PID belongs to the node.
			if err := syscall.Kill(li.PID, syscall.SIGHUP); err != nil {
				return fmt.Errorf("signal node pid %d: %w", li.PID, err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, err := node.ReadReloadStatus(s.layout.ReloadStatus.Path)
				if err == nil && st.Generation > before.Generation {
					if inv.g.json {
						if err := output.WriteJSON(inv.stdio.Out, st, false); err != nil {
							return err
						}
					} else {
						inv.printf("reload %d: ok=%v\n", st.Generation, st.OK)
						if len(st.Applied) > 0 {
							inv.printf("applied: %s\n", strings.Join(st.Applied, ", "))
						}
						if len(st.RestartRequired) > 0 {
							inv.printf("restart required for: %s\n", strings.Join(st.RestartRequired, ", "))
						}
					}
					if !st.OK {
						msg := "the node rejected the configuration"
						if st.Error != nil {
							msg += ": " + *st.Error
						}
						return &output.Error{Code: output.CodeConfigInvalid, Message: msg, Silent: inv.g.json}
					}
					return nil
				}
				if time.Now().After(deadline) {
					return output.Errorf(output.CodeTimeout, "the node (pid %d) recorded no reload outcome within 10s", li.PID)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}),
	}
}

// validateAgainstStore applies CLI-R13's checks that need the store: every [[connect]].peer_id
// is a peer and every referenced credential exists. A store that cannot be opened is a warning.
func (inv *invocation) validateAgainstStore(ctx context.Context, s *session) (errs, warns []config.Problem) {
	if len(s.cfg.Connect) == 0 {
		return nil, nil
	}
	if !paths.Exists(s.layout.Store.Path) {
		return nil, []config.Problem{{Message: "no store at " + s.layout.Store.Path + ": [[connect]] peers and credentials were not checked"}}
	}
	st, err := inv.openStore(ctx, s, storeReadOnly)
	if err != nil {
		return nil, []config.Problem{{Message: "the store cannot be opened (" + output.Classify(err).Message + "): [[connect]] peers and credentials were not checked"}}
	}
	defer st.Close()
	providers, _ := st.Credentials().Providers(ctx)
	for i, e := range s.cfg.Connect {
		path := fmt.Sprintf("connect[%d]", i)
		if _, err := st.Identities().PeerRecord(ctx, e.PeerID); err != nil {
			errs = append(errs, s.cfg.Problem(path+".peer_id", fmt.Sprintf("peer %q does not exist; add it with `alknet peers add %s --fingerprint <its key>`", e.PeerID, e.PeerID)))
		}
		if e.AuthCredential != "" && !slices.Contains(providers, e.AuthCredential) {
			errs = append(errs, s.cfg.Problem(path+".auth_credential", fmt.Sprintf("credential %q does not exist; store it with `alknet creds set %s`", e.AuthCredential, e.AuthCredential)))
		}
	}
	return errs, warns
}
