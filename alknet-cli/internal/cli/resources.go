package cli

import (
	"context"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/pflag"

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/alknet/alknet/alknet-vault/vault"
)

// storeMode selects how a command opens the peer store.
type storeMode int

const (
	storeExisting storeMode = iota // one-shot management: the store must exist, no migration, no watcher
	storeReadOnly                  // reads only (store info, check, backup, completion)
	storeCreate                    // init: create and migrate
)

// actor is the audit actor of one-shot writes: "cli:<user>@<host>".
func actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}

// openStore opens the store at the session's path after the ownership check (CLI-R8). A
// missing store is NOT_INITIALIZED (exit 12) and nothing is created (CLI-T27).
func (inv *invocation) openStore(ctx context.Context, s *session, mode storeMode) (*sqlitestore.Store, error) {
	path := s.layout.Store.Path
	if err := paths.CheckOwner(path, "store"); err != nil {
		return nil, err
	}
	busy := s.cfg.Store.BusyTimeout.D()
	if inv.g.busyTimeout > 0 {
		busy = inv.g.busyTimeout
	}
	opts := sqlitestore.Options{
		Path: path, BusyTimeout: busy, DisableWatch: true, Actor: actor(), Logger: s.log,
		PollInterval: s.cfg.Store.PollInterval.D(), MaxStale: s.cfg.Store.MaxStale.D(),
	}
	switch mode {
	case storeReadOnly:
		opts.ReadOnly = true
	case storeCreate:
		opts.Create, opts.AutoMigrate = true, true
	}
	st, err := sqlitestore.Open(ctx, opts)
	if err != nil {
		e := output.Classify(err)
		switch e.Code {
		case output.CodeNotInitialized:
			e.Message = "no store at " + path
			e.Hint = "run `alknet init` first, or pass the --data-dir of an initialised node"
		case output.CodeStoreSchemaOutdated:
			e.Hint = "start `alknet serve` once with this binary: it migrates the store (with a backup)"
		case output.CodeStoreBusy:
			e.Hint = "retry, or raise --busy-timeout"
		}
		return nil, e
	}
	return st, nil
}

// nodeRunning probes the instance lock (CLI-R11) and reports whether a node serves from the
// session's data directory.
func nodeRunning(s *session) (bool, paths.LockInfo) {
	st, li, err := paths.ProbeLock(s.layout.Lock.Path)
	return err == nil && st != paths.NotRunning, li
}

// passFlags are the passphrase source flags of a command that unlocks the keystore (§7).
type passFlags struct {
	file  string
	stdin bool
}

func (p *passFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.file, "passphrase-file", "", "read the keystore passphrase from this file (mode 0600)")
	fs.BoolVar(&p.stdin, "passphrase-stdin", false, "read the keystore passphrase from stdin")
}

func (inv *invocation) passSource(p passFlags) (secretin.Source, error) {
	if p.file != "" && p.stdin {
		return secretin.Source{}, output.Errorf(output.CodeUsage, "--passphrase-file and --passphrase-stdin cannot be combined")
	}
	if p.stdin {
		if err := inv.useStdin("--passphrase-stdin"); err != nil {
			return secretin.Source{}, err
		}
	}
	return secretin.Source{File: p.file, Stdin: p.stdin}, nil
}

const passphraseSources = "--passphrase-file PATH or --passphrase-stdin"

// loadKeystore reads the session's keystore, logging its warnings (CLI-R30).
func (inv *invocation) loadKeystore(s *session) (*keystore.File, error) {
	f, warns, err := keystore.Load(s.layout.Keystore.Path)
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		s.log.Warn(w)
	}
	return f, nil
}

// openKeystore opens the sealed secret: from the given source once, or on the terminal up to
// three times for a wrong passphrase (CLI-R23). The caller wipes the result.
func (inv *invocation) openKeystore(ctx context.Context, f *keystore.File, src secretin.Source) (*keystore.Plain, error) {
	if !f.Protected() {
		return f.Open(nil)
	}
	attempts := 1
	if src == (secretin.Source{}) {
		attempts = 3
	}
	var last error
	for range attempts {
		pass, err := secretin.Read(ctx, src, inv.stdio.In, inv.stdio.Terminal, secretin.Request{
			What: "keystore passphrase", Max: secretin.MaxPassphrase, Flags: passphraseSources,
		})
		if err != nil {
			return nil, err
		}
		p, err := f.Open(pass)
		secretin.Wipe(pass)
		if err == nil {
			return p, nil
		}
		last = err
		if output.Classify(err).Code != output.CodeWrongPassphrase {
			return nil, err
		}
	}
	return nil, last
}

// unlockVault unlocks a new vault with p and wipes p (VAULT-R112 step 1). The caller locks it.
func unlockVault(p *keystore.Plain) (*vault.Vault, error) {
	defer p.Wipe()
	v := vault.New(vault.Config{})
	if err := v.Unlock(p.Mnemonic, p.BIP39Passphrase); err != nil {
		return nil, output.Errorf(output.CodeKeystoreCorrupt, "the keystore's mnemonic does not unlock the vault: %w", err)
	}
	return v, nil
}

// deriveIdentity derives the identity key at index and returns it with its fingerprint
// (cli.md §6.3). The caller wipes the key.
func deriveIdentity(v *vault.Vault, index uint32) (*vault.DerivedKey, string, error) {
	path, err := vault.DevicePath(index)
	if err != nil {
		return nil, "", err
	}
	k, err := v.DeriveEd25519(path)
	if err != nil {
		return nil, "", err
	}
	return k, fingerprint.FromEd25519(k.PublicKey()), nil
}

// verifyIdentity re-derives the keystore's identity and compares it with the header
// (CLI-R27): a difference is KEYSTORE_MISMATCH (exit 8).
func verifyIdentity(v *vault.Vault, f *keystore.File) error {
	k, fp, err := deriveIdentity(v, f.Identity.Index)
	if err != nil {
		return err
	}
	k.Wipe()
	if fp != f.Identity.Fingerprint {
		return output.Errorf(output.CodeKeystoreMismatch,
			"the keystore header names %s but its mnemonic derives %s at index %d", f.Identity.Fingerprint, fp, f.Identity.Index).
			WithHint("the header was edited; restore the keystore from a backup")
	}
	return nil
}

// confirm asks on the terminal, or requires --yes without one (CLI-R32).
func (inv *invocation) confirm(ctx context.Context, question string) error {
	if inv.g.yes {
		return nil
	}
	tty, err := secretin.Open(inv.stdio.Terminal)
	if err != nil {
		return output.Errorf(output.CodeConfirmationRequired, "%s needs confirmation and there is no terminal to ask", question).
			WithHint("pass --yes to confirm")
	}
	defer tty.F.Close()
	ok, err := tty.Confirm(ctx, question)
	if err != nil {
		return err
	}
	if !ok {
		return output.Errorf(output.CodeConfirmationRequired, "not confirmed")
	}
	return nil
}

// liveNote tells the operator that a store change reached a running node without restart
// (CLI-R34).
func (inv *invocation) liveNote(s *session) bool {
	running, li := nodeRunning(s)
	if running && !inv.g.json && !inv.g.quiet {
		fmt.Fprintf(inv.stdio.Err, "The running node (pid %d) picks this change up live; no restart or reload is needed.\n", li.PID)
	}
	return running
}

// notFoundAs rewrites a NOT_FOUND store error with a message naming what is missing.
func notFoundAs(err error, what string) error {
	e := output.Classify(err)
	if e.Code == output.CodeNotFound {
		e.Message = what + " does not exist"
	}
	return e
}
