package cli

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/logging"
	"github.com/alknet/alknet/alknet-cli/internal/node"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/tlsconf"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/alknet/alknet/alknet-vault/vault"
)

type serveFlags struct {
	listen, readyFile, metricsAddr string
	requireVault, ephemeral        bool
	pass                           passFlags
	reloads                        <-chan struct{}
}

func (inv *invocation) newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the node (embedded defaults when nothing is configured)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// serve has its own signal handling (CLI-R50) instead of run's.
			ctx, cancel := context.WithCancelCause(cmd.Context())
			defer cancel(nil)
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			reloads := make(chan struct{}, 1) // SIGHUPs; coalesced while one is pending
			f.reloads = reloads
			stopWatch := make(chan struct{})
			watchDone := make(chan struct{})
			go func() {
				defer close(watchDone)
				stopping := false
				for {
					select {
					case <-stopWatch:
						return
					case sig := <-sigs:
						if sig == syscall.SIGHUP {
							select {
							case reloads <- struct{}{}:
							default:
							}
							continue
						}
						if stopping {
							os.Exit(130)
						}
						stopping = true
						cancel(fmt.Errorf("signal %v", sig))
					}
				}
			}()
			err := inv.serve(ctx, f)
			close(stopWatch)
			<-watchDone
			if err != nil {
				// The error object of CLI-R55 carries the exit code.
				return coded(context.Background(), err)
			}
			if inv.g.json {
				_ = output.WriteJSON(inv.stdio.Out, map[string]any{"event": "stopped", "exit_code": 0}, false)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", "", "UDP address to listen on (overrides listen.addr)")
	fs.StringVar(&f.readyFile, "ready-file", "", "write {listen, fingerprint, alpns, pid} to this file once ready; removed at exit")
	fs.BoolVar(&f.requireVault, "require-vault", false, "refuse to start without an initialised keystore")
	fs.BoolVar(&f.ephemeral, "ephemeral", false, "ignore the keystore and use a throw-away identity")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics on this loopback HOST:PORT")
	f.pass.register(fs)
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	return cmd
}

// serve runs start-up steps 1–7 of CLI-R38 and hands the node to node.Run.
func (inv *invocation) serve(ctx context.Context, f serveFlags) error {
	started := time.Now()
	if f.readyFile != "" {
		// CLI-R72: a previous run's ready file never survives into this one.
		if err := os.Remove(f.readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale ready file %s: %w", f.readyFile, err)
		}
	}
	// Step 1: configuration and logging.
	s, err := inv.setup(true)
	if err != nil {
		return err
	}
	cfg := s.cfg.Config
	// quic-go prints its UDP buffer warning through the standard log package: route it into the
	// bridge at warn (CLI-R50). The one process-global setting serve touches; restored at exit.
	prevOut, prevFlags := stdlog.Writer(), stdlog.Flags()
	stdlog.SetOutput(logging.StdWriter(s.log, "quic-go"))
	stdlog.SetFlags(0)
	defer func() {
		stdlog.SetOutput(prevOut)
		stdlog.SetFlags(prevFlags)
	}()
	if f.metricsAddr != "" {
		if err := config.CheckMetricsAddr(f.metricsAddr); err != nil {
			return output.Errorf(output.CodeConfigInvalid, "--metrics-addr: %v", err)
		}
	}
	if f.listen != "" {
		if _, _, err := config.Parse([]byte(fmt.Sprintf("[listen]\naddr = %q\n", f.listen)), "--listen"); err != nil {
			return output.Errorf(output.CodeUsage, "--listen %q is not a HOST:PORT address", f.listen)
		}
	}
	// Step 2.
	if err := disableCoreDumps(); err != nil {
		s.log.Warn("cannot disable core dumps", "err", err)
	}
	// Step 3: the instance lock.
	if _, err := paths.EnsureDir(s.layout.DataDir.Path); err != nil {
		return err
	}
	lock, err := paths.AcquireLock(s.layout.Lock.Path)
	if err != nil {
		return err
	}
	defer lock.Release()
	// Step 4: the store, created on a fresh machine and always migrated.
	if _, err := paths.EnsureDir(filepath.Dir(s.layout.Store.Path)); err != nil {
		return err
	}
	if err := paths.CheckOwner(s.layout.Store.Path, "store"); err != nil {
		return err
	}
	busy := cfg.Store.BusyTimeout.D()
	if inv.g.busyTimeout > 0 {
		busy = inv.g.busyTimeout
	}
	st, err := sqlitestore.Open(ctx, sqlitestore.Options{
		Path: s.layout.Store.Path, Create: true, AutoMigrate: true, BusyTimeout: busy,
		PollInterval: cfg.Store.PollInterval.D(), MaxStale: cfg.Store.MaxStale.D(),
		Actor: "node:" + cfg.Node.Name, Logger: s.log,
	})
	if err != nil {
		e := output.Classify(err)
		if e.Code == output.CodeStoreBusy {
			e.Hint = "retry, or raise --busy-timeout"
		}
		return e
	}
	defer st.Close()
	if in, err := st.Info(ctx); err == nil {
		inv.progress().Step("store", fmt.Sprintf("%s (schema %d, %d peers)", in.Path, in.SchemaVersion, in.Peers))
	}
	// Steps 5–7: the identity; nothing else needs the vault in this build, so it is locked
	// right after the key is derived.
	id, fp, tokens, err := inv.serveIdentity(ctx, s, st, f)
	if err != nil {
		return err
	}
	inv.progress().Step("identity", fp)
	var hint *os.File
	if !inv.g.json && !inv.g.quiet && output.IsTerminal(inv.stdio.Err) {
		hint = inv.stdio.Err.(*os.File)
	}
	params := node.Params{
		Config: cfg, Layout: s.layout, Log: s.log, Listen: f.listen, MetricsAddr: f.metricsAddr, ReadyFile: f.readyFile,
		Store: st, TLS: id, Fingerprint: fp, Version: buildVersion(), Lock: lock, StartedAt: started,
		ConfigFile: s.layout.Config.Path, Level: s.level, LevelFixed: inv.g.logLevel != "" || inv.g.verbose > 0,
		Reloads: f.reloads, Tokens: tokens,
	}
	if hint != nil {
		params.Hint = hint
	}
	if inv.g.json {
		params.Events = inv.stdio.Out
	}
	return node.Run(ctx, params)
}

// referencedCredentials lists the providers the configuration names (CLI-R40).
func referencedCredentials(cfg *config.Config) []string {
	var out []string
	for _, e := range cfg.Connect {
		if e.AuthCredential != "" && !slices.Contains(out, e.AuthCredential) {
			out = append(out, e.AuthCredential)
		}
	}
	return out
}

// decryptCredentials is start-up step 6 (CLI-R40): exactly the referenced credentials, each
// into a token for the component that named it. A missing one is NOT_FOUND (exit 4), one that
// does not decrypt CREDENTIAL_UNDECRYPTABLE (exit 8), both naming it.
func decryptCredentials(ctx context.Context, v *vault.Vault, st *sqlitestore.Store, refs []string) (map[string]auth.AuthToken, error) {
	out := map[string]auth.AuthToken{}
	for _, p := range refs {
		blob, ok, err := st.Credentials().Get(ctx, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, output.Errorf(output.CodeNotFound, "credential %s named by [[connect]].auth_credential does not exist", p).
				WithHint("store it with `alknet creds set " + p + "`")
		}
		vb, err := toVault(blob)
		var pt []byte
		if err == nil {
			pt, err = v.Decrypt(vb)
		}
		if err != nil {
			return nil, output.Errorf(output.CodeCredentialUndecryptable, "credential %s (key version %d) cannot be decrypted with this keystore", p, blob.KeyVersion).
				WithHint("it was encrypted under another mnemonic; set it again with `alknet creds set " + p + "`")
		}
		out[p] = auth.NewAuthToken(pt)
		secretin.Wipe(pt)
	}
	return out, nil
}

// serveIdentity is start-up step 5 (CLI-R38): the keystore's identity, re-derived and checked
// against its header (CLI-R27), or an ephemeral key (D4, VAULT-R113).
func (inv *invocation) serveIdentity(ctx context.Context, s *session, st *sqlitestore.Store, f serveFlags) (tlsconf.Identity, string, map[string]auth.AuthToken, error) {
	cfg := s.cfg.Config
	refs := referencedCredentials(cfg)
	haveKeystore := paths.Exists(s.layout.Keystore.Path)
	if len(refs) > 0 && (f.ephemeral || cfg.TLS.Mode == "ephemeral" || !haveKeystore) {
		return tlsconf.Identity{}, "", nil, output.Errorf(output.CodeNotInitialized,
			"the configuration names credentials (%s) but there is no vault to decrypt them", strings.Join(refs, ", ")).
			WithHint("run `alknet init` and serve without --ephemeral, or remove the auth_credential keys")
	}
	var tokens map[string]auth.AuthToken
	if cfg.TLS.Mode == "x509" && !f.ephemeral && len(refs) > 0 {
		v, _, err := inv.unlockNode(ctx, s, f.pass)
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		tokens, err = decryptCredentials(ctx, v, st, refs)
		v.Lock()
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
	}
	id, fp, t2, err := inv.serveKey(ctx, s, st, f, refs)
	if tokens == nil {
		tokens = t2
	}
	return id, fp, tokens, err
}

// serveKey derives or loads the node's TLS identity (and, in vault mode, decrypts refs while
// the vault is unlocked).
func (inv *invocation) serveKey(ctx context.Context, s *session, st *sqlitestore.Store, f serveFlags, refs []string) (tlsconf.Identity, string, map[string]auth.AuthToken, error) {
	cfg := s.cfg.Config
	if cfg.TLS.Mode == "x509" && !f.ephemeral {
		// Nothing needs the vault in x509 mode: no passphrase is asked for (CLI-R38 step 5).
		fi, err := os.Stat(cfg.TLS.KeyFile)
		if err != nil {
			return tlsconf.Identity{}, "", nil, output.Errorf(output.CodeConfigInvalid, "tls.key_file %s: %v", cfg.TLS.KeyFile, err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return tlsconf.Identity{}, "", nil, output.Errorf(output.CodeInsecurePermissions,
				"tls.key_file %s has mode %04o: other users could read the private key", cfg.TLS.KeyFile, perm).
				WithHint("chmod 600 " + cfg.TLS.KeyFile)
		}
		if err := paths.CheckOwner(cfg.TLS.KeyFile, "TLS key file"); err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		id := tlsconf.Identity{Kind: tlsconf.KindX509, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile}
		cert, err := id.Certificate()
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		return id, fingerprint.FromCertificate(cert.Leaf), nil, nil
	}
	if !f.ephemeral && cfg.TLS.Mode != "ephemeral" && paths.Exists(s.layout.Keystore.Path) {
		v, _, err := inv.unlockNode(ctx, s, f.pass)
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		defer v.Lock() // step 7 (VAULT-R112)
		ks, err := inv.loadKeystore(s)
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		if !ks.Protected() {
			ks.Wipe()
			s.log.Warn("the keystore is not protected by a passphrase; its file mode is its only protection", "path", s.layout.Keystore.Path)
		}
		k, fp, err := deriveIdentity(v, ks.Identity.Index)
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		defer k.Wipe()
		key, err := tlsconf.NewEd25519KeyFromSeed(k.PrivateKey())
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		tokens, err := decryptCredentials(ctx, v, st, refs)
		if err != nil {
			return tlsconf.Identity{}, "", nil, err
		}
		s.log.Info("vault unlocked; identity derived", "fingerprint", fp, "index", ks.Identity.Index, "credentials", len(tokens))
		return tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}, fp, tokens, nil
	}
	if (cfg.Vault.Required || f.requireVault) && !f.ephemeral {
		return tlsconf.Identity{}, "", nil, output.Errorf(output.CodeNotInitialized, "no keystore at %s and the vault is required", s.layout.Keystore.Path).
			WithHint("run `alknet init` first")
	}
	key, err := tlsconf.GenerateEd25519Key()
	if err != nil {
		return tlsconf.Identity{}, "", nil, err
	}
	fp := fingerprint.FromEd25519(key.Public())
	s.log.Warn("running with an ephemeral identity: it changes at every start and no credential can be decrypted; run `alknet init` for a persistent node",
		"fingerprint", fp)
	return tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}, fp, nil, nil
}
