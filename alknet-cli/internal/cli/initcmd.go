package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/config"
	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-vault/bip39"
)

// kdfFlags are --kdf-time, --kdf-memory (MiB) and --kdf-threads (init, vault passwd).
type kdfFlags struct {
	time, memoryMiB, threads uint32
}

func (k *kdfFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.Uint32Var(&k.time, "kdf-time", keystore.DefaultKDF.Time, "Argon2id passes (1-64)")
	fs.Uint32Var(&k.memoryMiB, "kdf-memory", keystore.DefaultKDF.MemoryKiB>>10, "Argon2id memory in MiB (8-4096)")
	fs.Uint32Var(&k.threads, "kdf-threads", uint32(keystore.DefaultKDF.Threads), "Argon2id threads (1-64)")
}

func (k kdfFlags) kdf() (keystore.KDF, error) {
	if k.threads > 64 || k.memoryMiB > 4096 {
		return keystore.KDF{}, output.Errorf(output.CodeInvalidInput, "KDF parameters out of range (time 1-64, memory 8-4096 MiB, threads 1-64)")
	}
	kd := keystore.KDF{Time: k.time, MemoryKiB: k.memoryMiB << 10, Threads: uint8(k.threads)}
	if err := kd.Check(); err != nil {
		return keystore.KDF{}, output.Errorf(output.CodeInvalidInput, "%v", err)
	}
	return kd, nil
}

// initResult is the `init --json` shape (cli.md §7.1). It never contains the phrase.
type initResult struct {
	ConfigPath    string `json:"config_path"`
	DataDir       string `json:"data_dir"`
	StorePath     string `json:"store_path"`
	KeystorePath  string `json:"keystore_path"`
	Fingerprint   string `json:"fingerprint"`
	IdentityIndex uint32 `json:"identity_index"`
	Protection    string `json:"protection"`
	MnemonicFile  string `json:"mnemonic_file,omitempty"`
}

func (inv *invocation) newInitCmd() *cobra.Command {
	var (
		words          int
		recover        bool
		bip39Pass      bool
		bip39PassFile  string
		noPassphrase   bool
		pass           passFlags
		mnemonicFile   string
		mnemonicStdin  bool
		listen         string
		mnemonicOut    string
		force          bool
		kdf            kdfFlags
		createdDirs    []string
		createdFiles   []string
		installedFinal bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the node: config, data directory, store and keystore with a new or recovered mnemonic",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = run(func(ctx context.Context, cmd *cobra.Command, args []string) (err error) {
		defer func() {
			if err != nil && !installedFinal {
				for i := len(createdFiles) - 1; i >= 0; i-- {
					_ = os.Remove(createdFiles[i])
				}
				for i := len(createdDirs) - 1; i >= 0; i-- {
					_ = os.Remove(createdDirs[i]) // only if empty: a pre-existing dir is never touched
				}
			}
		}()
		s, err := inv.setupWith(false, true)
		if err != nil {
			return err
		}
		kd, err := kdf.kdf()
		if err != nil {
			return err
		}
		ksPath := s.layout.Keystore.Path
		// Step 1 (CLI-R33).
		if paths.Exists(ksPath) && !force {
			return output.Errorf(output.CodeAlreadyExists, "a keystore already exists at %s", ksPath).
				WithHint("this node is initialised; use --force to replace its identity (the old keystore is kept as a .bak file)")
		}
		if err := paths.CheckOwner(ksPath, "keystore"); err != nil {
			return err
		}
		tty, ttyErr := secretin.Open(inv.stdio.Terminal)
		haveTTY := ttyErr == nil
		if haveTTY {
			defer tty.F.Close()
		}
		if !recover && !haveTTY && mnemonicOut == "" {
			return output.Errorf(output.CodeUsage, "without a terminal the new mnemonic can only be written to a file").
				WithHint("pass --mnemonic-out PATH (a new file, created with mode 0600)")
		}
		if force && paths.Exists(ksPath) {
			if err := inv.confirm(ctx, "Replace the identity of this node (init --force)?"); err != nil {
				return err
			}
		}
		var stdinSources int
		for _, b := range []bool{pass.stdin, mnemonicStdin} {
			if b {
				stdinSources++
			}
		}
		if stdinSources > 1 {
			return output.Errorf(output.CodeUsage, "--passphrase-stdin and --mnemonic-stdin both read stdin; use a file for one of them")
		}
		passSrc, err := inv.passSource(pass)
		if err != nil {
			return err
		}

		// Step 2: the mnemonic.
		var phrase []byte
		if recover {
			if mnemonicStdin {
				if err := inv.useStdin("--mnemonic-stdin"); err != nil {
					return err
				}
			}
			raw, err := secretin.Read(ctx, secretin.Source{File: mnemonicFile, Stdin: mnemonicStdin}, inv.stdio.In, inv.stdio.Terminal,
				secretin.Request{What: "mnemonic", Max: secretin.MaxPassphrase, Flags: "--mnemonic-file PATH or --mnemonic-stdin"})
			if err != nil {
				return err
			}
			phrase, err = bip39.Parse(raw)
			secretin.Wipe(raw)
			if err != nil {
				return output.Errorf(output.CodeInvalidInput, "the mnemonic is not valid (unknown word, wrong word count or checksum)").
					WithDetail("cause_code", string(output.Classify(err).Code))
			}
		} else {
			phrase, err = bip39.Generate(words)
			if err != nil {
				return output.Errorf(output.CodeInvalidInput, "--words %d: use 12, 15, 18, 21 or 24", words)
			}
		}
		defer secretin.Wipe(phrase)
		var b39 []byte
		if bip39Pass || bip39PassFile != "" {
			b39, err = secretin.Read(ctx, secretin.Source{File: bip39PassFile}, inv.stdio.In, inv.stdio.Terminal,
				secretin.Request{What: "BIP39 passphrase", Max: secretin.MaxPassphrase, New: !recover, Flags: "--bip39-passphrase-file PATH"})
			if err != nil {
				return err
			}
			defer secretin.Wipe(b39)
		}

		// Step 3: the keystore passphrase.
		var ksPass []byte
		if !noPassphrase {
			ksPass, err = secretin.Read(ctx, passSrc, inv.stdio.In, inv.stdio.Terminal, secretin.Request{
				What: "keystore passphrase", Max: secretin.MaxPassphrase, New: true,
				Flags: passphraseSources + " (or --no-passphrase)",
			})
			if err != nil {
				return err
			}
			defer secretin.Wipe(ksPass)
		}

		// Step 4: unlock and derive the identity (VAULT-R72: Generate, then Unlock).
		plain := &keystore.Plain{Mnemonic: append([]byte(nil), phrase...), BIP39Passphrase: append([]byte{}, b39...)}
		v, err := unlockVault(&keystore.Plain{Mnemonic: append([]byte(nil), phrase...), BIP39Passphrase: append([]byte{}, b39...)})
		if err != nil {
			plain.Wipe()
			return err
		}
		key, fp, err := deriveIdentity(v, 0)
		v.Lock()
		if err != nil {
			plain.Wipe()
			return err
		}
		key.Wipe()
		id := keystore.Identity{Index: 0, Path: keystore.IdentityPath(0), Fingerprint: fp}

		// Step 5: data dir and the sealed keystore in a temporary file.
		dirs, err := paths.EnsureDir(filepath.Dir(ksPath))
		createdDirs = append(createdDirs, dirs...)
		if err != nil {
			plain.Wipe()
			return err
		}
		now := time.Now()
		var kf *keystore.File
		if noPassphrase {
			kf = keystore.SealNone(plain, id, now)
		} else {
			kf, err = keystore.Seal(plain, ksPass, kd, id, now, rand.Reader)
		}
		plain.Wipe()
		if err != nil {
			return err
		}
		tmp := ksPath + ".new"
		_ = os.Remove(tmp)
		if err := keystore.Save(tmp, kf); err != nil {
			return err
		}
		createdFiles = append(createdFiles, tmp)

		// Step 6: show the mnemonic once.
		res := initResult{ConfigPath: s.layout.Config.Path, DataDir: s.layout.DataDir.Path, StorePath: s.layout.Store.Path,
			KeystorePath: ksPath, Fingerprint: fp, IdentityIndex: 0, Protection: kf.Protection}
		if !recover {
			if mnemonicOut != "" {
				if err := writeNewSecretFile(mnemonicOut, phrase); err != nil {
					return err
				}
				createdFiles = append(createdFiles, mnemonicOut)
				res.MnemonicFile, _ = filepath.Abs(mnemonicOut)
			} else if err := showMnemonic(ctx, tty, phrase); err != nil {
				return err
			}
		}

		// Step 7: install the keystore, create the store, write the config.
		if force && paths.Exists(ksPath) {
			bak, err := keystore.Backup(ksPath, now)
			if err != nil {
				return err
			}
			s.log.Warn("previous keystore kept", "path", bak)
		}
		if err := os.Rename(tmp, ksPath); err != nil {
			return fmt.Errorf("install keystore %s: %w", ksPath, err)
		}
		installedFinal = true
		if err := paths.SyncDir(filepath.Dir(ksPath)); err != nil {
			return err
		}
		inv.progress().Step("keystore", ksPath+" ("+kf.Protection+")")
		dirs, err = paths.EnsureDir(filepath.Dir(s.layout.Store.Path))
		if err != nil {
			return err
		}
		_ = dirs
		st, err := inv.openStore(ctx, s, storeCreate)
		if err != nil {
			return err
		}
		inv.progress().Step("store", s.layout.Store.Path)
		creds, cerr := st.Credentials().List(ctx)
		st.Close()
		if cerr == nil && force && len(creds) > 0 {
			s.log.Warn("the store holds credentials encrypted under the previous mnemonic; they cannot be decrypted with the new one (restore the .bak keystore to read them)",
				"count", len(creds))
		}
		if !paths.Exists(s.layout.Config.Path) {
			if _, err := paths.EnsureDir(filepath.Dir(s.layout.Config.Path)); err != nil {
				return err
			}
			if listen == "" {
				listen = config.Default().Listen.Addr
			}
			tpl := config.Template(listen)
			if _, _, err := config.Parse(tpl, s.layout.Config.Path); err != nil {
				return output.Errorf(output.CodeUsage, "--listen %q: %v", listen, err)
			}
			if err := paths.WriteAtomic(s.layout.Config.Path, tpl, paths.FileMode); err != nil {
				return err
			}
		}

		// Step 8: summary.
		if inv.g.json {
			return output.WriteJSON(inv.stdio.Out, res, false)
		}
		inv.printf("Initialised node %s\n", fp)
		_ = output.Table(inv.stdio.Out, []string{"WHAT", "PATH"}, [][]string{
			{"config", res.ConfigPath}, {"data_dir", res.DataDir}, {"store", res.StorePath}, {"keystore", res.KeystorePath},
		})
		if res.MnemonicFile != "" {
			inv.printf("The mnemonic is in %s: store it offline, then delete the file.\n", res.MnemonicFile)
		}
		inv.printf("Next: `alknet serve` to run the node; `alknet peers add <id> --fingerprint <fp>` to admit a peer.\n")
		return nil
	})
	fs := cmd.Flags()
	fs.IntVar(&words, "words", 24, "mnemonic length: 12, 15, 18, 21 or 24")
	fs.BoolVar(&recover, "recover", false, "recover an existing mnemonic instead of generating one")
	fs.StringVar(&mnemonicFile, "mnemonic-file", "", "with --recover: read the mnemonic from this file (mode 0600)")
	fs.BoolVar(&mnemonicStdin, "mnemonic-stdin", false, "with --recover: read the mnemonic from stdin")
	fs.BoolVar(&bip39Pass, "bip39-passphrase", false, "ask for the optional BIP39 passphrase (\"25th word\")")
	fs.StringVar(&bip39PassFile, "bip39-passphrase-file", "", "read the BIP39 passphrase from this file (mode 0600)")
	fs.BoolVar(&noPassphrase, "no-passphrase", false, "store the mnemonic unprotected (the file mode is its only protection)")
	pass.register(fs)
	fs.StringVar(&listen, "listen", "", "listen address written into a new config (default 127.0.0.1:4433)")
	fs.StringVar(&mnemonicOut, "mnemonic-out", "", "write the new mnemonic to this new file (mode 0600) instead of the terminal")
	fs.BoolVar(&force, "force", false, "replace an existing keystore (kept as keystore.json.bak-<time>)")
	kdf.register(cmd)
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin", "no-passphrase")
	cmd.MarkFlagsMutuallyExclusive("mnemonic-file", "mnemonic-stdin")
	return cmd
}

// writeNewSecretFile creates path with O_EXCL and mode 0600 and writes b followed by a newline
// (the --mnemonic-out file, VAULT-R114).
func writeNewSecretFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, paths.FileMode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return output.Errorf(output.CodeAlreadyExists, "--mnemonic-out %s already exists", path).
				WithHint("name a new file; an existing one is never overwritten")
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, werr := f.Write(append(append([]byte(nil), b...), '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// showMnemonic prints the words with their numbers on the terminal, then asks for two of them
// at random positions; a wrong answer repeats the question (CLI-R33 step 6).
func showMnemonic(ctx context.Context, tty secretin.Terminal, phrase []byte) error {
	words := bytes.Fields(phrase) // sub-slices of phrase: wiped with it, no string copies (CLI-R25)
	fmt.Fprintf(tty.F, "\nYour recovery phrase (%d words). Write it down and keep it offline; it is shown only once:\n\n", len(words))
	for i, w := range words {
		fmt.Fprintf(tty.F, "%3d. %-10s", i+1, w)
		if (i+1)%4 == 0 {
			fmt.Fprintln(tty.F)
		}
	}
	fmt.Fprintln(tty.F)
	first := randIndex(len(words))
	second := randIndex(len(words) - 1)
	if second >= first {
		second++
	}
	for _, i := range []int{first, second} {
		for {
			a, err := tty.ReadPassword(ctx, fmt.Sprintf("Type word #%d to confirm you wrote it down: ", i+1))
			if err != nil {
				return err
			}
			ok := bytes.EqualFold(bytes.TrimSpace(a), words[i])
			secretin.Wipe(a)
			if ok {
				break
			}
			fmt.Fprintln(tty.F, "That is not the word at that position; try again.")
		}
	}
	fmt.Fprintln(tty.F, "Confirmed.")
	return nil
}

func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}
