package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func (inv *invocation) newVaultCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "vault",
		Short: "Inspect, verify, re-seal and rotate the vault",
	}, inv.newVaultStatusCmd(), inv.newVaultVerifyCmd(), inv.newVaultPasswdCmd(), inv.newVaultRotateCmd())
}

type kdfJSON struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

func kdfObject(f *keystore.File) *kdfJSON {
	if !f.Protected() {
		return nil
	}
	return &kdfJSON{f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads}
}

// vaultStatus is the `vault status --json` shape (CLI-R77).
type vaultStatus struct {
	Keystore struct {
		Present    bool               `json:"present"`
		Path       string             `json:"path"`
		Protection *string            `json:"protection"`
		KDF        *kdfJSON           `json:"kdf"`
		CreatedAt  *string            `json:"created_at"`
		Identity   *keystore.Identity `json:"identity"`
	} `json:"keystore"`
	Store struct {
		CurrentKeyVersion    *uint32        `json:"current_key_version"`
		CredentialsByVersion map[string]int `json:"credentials_by_version"`
	} `json:"store"`
}

func (inv *invocation) newVaultStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the keystore and the store's credential key versions (no passphrase)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			var out vaultStatus
			out.Keystore.Path = s.layout.Keystore.Path
			out.Store.CredentialsByVersion = map[string]int{}
			if paths.Exists(s.layout.Keystore.Path) {
				f, err := inv.loadKeystore(s)
				if err != nil {
					return err
				}
				if !f.Protected() {
					f.Wipe()
				}
				out.Keystore.Present = true
				out.Keystore.Protection = &f.Protection
				out.Keystore.KDF = kdfObject(f)
				out.Keystore.CreatedAt = rfc3339(f.CreatedAt)
				out.Keystore.Identity = &f.Identity
			}
			if paths.Exists(s.layout.Store.Path) {
				st, err := inv.openStore(ctx, s, storeExisting)
				if err != nil {
					return err
				}
				defer st.Close()
				kv, err := st.Credentials().CurrentKeyVersion(ctx)
				if err != nil {
					return err
				}
				out.Store.CurrentKeyVersion = &kv
				recs, err := st.Credentials().List(ctx)
				if err != nil {
					return err
				}
				for _, r := range recs {
					out.Store.CredentialsByVersion[strconv.FormatUint(uint64(r.KeyVersion), 10)]++
				}
			}
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, out, false)
			}
			k := out.Keystore
			if !k.Present {
				inv.printf("keystore      none at %s (run `alknet init`)\n", k.Path)
			} else {
				inv.printf("keystore      %s\nprotection    %s\n", k.Path, *k.Protection)
				if k.KDF != nil {
					inv.printf("kdf           argon2id time=%d memory=%dMiB threads=%d\n", k.KDF.Time, k.KDF.MemoryKiB>>10, k.KDF.Threads)
				}
				inv.printf("created       %s\nidentity      %s (index %d, %s)\n", humanTime(k.CreatedAt), k.Identity.Fingerprint, k.Identity.Index, k.Identity.Path)
			}
			if out.Store.CurrentKeyVersion != nil {
				inv.printf("key version   %d\n", *out.Store.CurrentKeyVersion)
				vs := make([]string, 0, len(out.Store.CredentialsByVersion))
				for v := range out.Store.CredentialsByVersion {
					vs = append(vs, v)
				}
				sort.Strings(vs)
				for _, v := range vs {
					inv.printf("credentials   %d at key version %s\n", out.Store.CredentialsByVersion[v], v)
				}
			}
			return nil
		}),
	}
}

type failedCred struct {
	Provider   string `json:"provider"`
	KeyVersion uint32 `json:"key_version"`
	Code       string `json:"code"`
}

func (inv *invocation) newVaultVerifyCmd() *cobra.Command {
	var pass passFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Unlock, re-derive the identity and decrypt every stored credential in memory",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			st, err := inv.openStore(ctx, s, storeExisting)
			if err != nil {
				return err
			}
			defer st.Close()
			v, fp, err := inv.unlockNode(ctx, s, pass)
			if err != nil {
				return err
			}
			defer v.Lock()
			providers, err := st.Credentials().Providers(ctx)
			if err != nil {
				return err
			}
			failed := []failedCred{}
			for _, p := range providers {
				blob, ok, err := st.Credentials().Get(ctx, p)
				if err != nil || !ok {
					continue
				}
				vb, err := toVault(blob)
				if err == nil {
					var pt []byte
					pt, err = v.Decrypt(vb)
					secretin.Wipe(pt)
				}
				if err != nil {
					failed = append(failed, failedCred{p, blob.KeyVersion, string(output.CodeCredentialUndecryptable)})
				}
			}
			out := map[string]any{"ok": len(failed) == 0, "fingerprint": fp, "credentials_checked": len(providers), "failed": failed}
			if inv.g.json {
				if err := output.WriteJSON(inv.stdio.Out, out, false); err != nil {
					return err
				}
			} else {
				inv.printf("identity %s verified; %d credential(s) checked\n", fp, len(providers))
				for _, f := range failed {
					inv.printf("cannot decrypt %s (key version %d)\n", f.Provider, f.KeyVersion)
				}
			}
			if len(failed) > 0 {
				return &output.Error{Code: output.CodeCredentialUndecryptable, Silent: inv.g.json,
					Message: fmt.Sprintf("%d credential(s) cannot be decrypted with this keystore", len(failed)),
					Hint:    "they were encrypted under another mnemonic; set them again with `alknet creds set`"}
			}
			return nil
		}),
	}
	pass.register(cmd.Flags())
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	return cmd
}

func (inv *invocation) newVaultPasswdCmd() *cobra.Command {
	var pass passFlags
	var newFile string
	var newStdin, noPassphrase bool
	var kdf kdfFlags
	cmd := &cobra.Command{
		Use:   "passwd",
		Short: "Re-seal the keystore with a new passphrase and/or KDF parameters",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			kd, err := kdf.kdf()
			if err != nil {
				return err
			}
			if pass.stdin && newStdin {
				return output.Errorf(output.CodeUsage, "--passphrase-stdin and --new-passphrase-stdin both read stdin; use a file for one of them")
			}
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			f, err := inv.loadKeystore(s)
			if err != nil {
				return err
			}
			if noPassphrase {
				if err := inv.confirm(ctx, "Store the mnemonic unprotected (vault passwd --no-passphrase)?"); err != nil {
					return err
				}
			}
			src, err := inv.passSource(pass)
			if err != nil {
				return err
			}
			p, err := inv.openKeystore(ctx, f, src)
			if err != nil {
				return err
			}
			defer p.Wipe()
			var nf *keystore.File
			if noPassphrase {
				nf = keystore.SealNone(p, f.Identity, f.CreatedAt)
				defer nf.Wipe()
			} else {
				if newStdin {
					if err := inv.useStdin("--new-passphrase-stdin"); err != nil {
						return err
					}
				}
				np, err := secretin.Read(ctx, secretin.Source{File: newFile, Stdin: newStdin}, inv.stdio.In, inv.stdio.Terminal,
					secretin.Request{What: "keystore passphrase", Max: secretin.MaxPassphrase, New: true,
						Flags: "--new-passphrase-file PATH, --new-passphrase-stdin or --no-passphrase"})
				if err != nil {
					return err
				}
				defer secretin.Wipe(np)
				nf, err = keystore.Seal(p, np, kd, f.Identity, f.CreatedAt, rand.Reader)
				if err != nil {
					return err
				}
			}
			if err := keystore.Save(s.layout.Keystore.Path, nf); err != nil {
				return err
			}
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, map[string]any{"protection": nf.Protection, "kdf": kdfObject(nf)}, false)
			}
			inv.printf("keystore re-sealed (%s)\n", nf.Protection)
			return nil
		}),
	}
	fs := cmd.Flags()
	pass.register(fs)
	fs.StringVar(&newFile, "new-passphrase-file", "", "read the new passphrase from this file (mode 0600)")
	fs.BoolVar(&newStdin, "new-passphrase-stdin", false, "read the new passphrase from stdin")
	fs.BoolVar(&noPassphrase, "no-passphrase", false, "store the mnemonic unprotected (asks for confirmation)")
	kdf.register(cmd)
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	cmd.MarkFlagsMutuallyExclusive("new-passphrase-file", "new-passphrase-stdin", "no-passphrase")
	return cmd
}

func (inv *invocation) newVaultRotateCmd() *cobra.Command {
	var pass passFlags
	var to uint32
	var skipFailed bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every stored credential under a newer key version",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			st, err := inv.openStore(ctx, s, storeExisting)
			if err != nil {
				return err
			}
			defer st.Close()
			cur, err := st.Credentials().CurrentKeyVersion(ctx)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("to") {
				to = cur + 1
			}
			if err := inv.confirm(ctx, fmt.Sprintf("Re-encrypt every credential to key version %d?", to)); err != nil {
				return err
			}
			v, _, err := inv.unlockNode(ctx, s, pass)
			if err != nil {
				return err
			}
			defer v.Lock()
			recs, _ := st.Credentials().List(ctx)
			total, done := 0, 0
			for _, rc := range recs {
				if rc.KeyVersion < to {
					total++
				}
			}
			prog := inv.progress()
			res, err := st.Credentials().Rotate(ctx, to, sqlitestore.RotateOptions{SkipFailed: skipFailed},
				func(provider string, in store.EncryptedData) (store.EncryptedData, error) {
					done++
					prog.Step("rotate", fmt.Sprintf("rotated %d/%d (%s)", done, total, provider)) // CLI-R57
					vb, err := toVault(in)
					if err != nil {
						return store.EncryptedData{}, err
					}
					out, err := v.Rotate(vb, to)
					if err != nil {
						return store.EncryptedData{}, err
					}
					return toStore(out)
				})
			if err != nil {
				e := output.Classify(err)
				switch {
				case e.Code == output.CodeInvalidInput && to < cur:
					e.Message = fmt.Sprintf("key version %d is below the store's current version %d; rotation never goes back", to, cur)
				case e.Code == output.CodeCredentialUndecryptable || e.Code == output.CodeInternal:
					e = &output.Error{Code: output.CodeCredentialUndecryptable, Details: e.Details,
						Message: "a credential cannot be decrypted with this keystore; nothing was rotated",
						Hint:    "re-run with --skip-failed to rotate the others"}
				}
				return e
			}
			failed := []map[string]string{}
			names := make([]string, 0, len(res.Failed))
			for p := range res.Failed {
				names = append(names, p)
			}
			sort.Strings(names)
			for _, p := range names {
				failed = append(failed, map[string]string{"provider": p, "code": string(output.CodeCredentialUndecryptable)})
			}
			rotated := res.Rotated
			if rotated == nil {
				rotated = []string{}
			}
			if inv.g.json {
				if err := output.WriteJSON(inv.stdio.Out, map[string]any{"to": to, "rotated": rotated, "failed": failed}, false); err != nil {
					return err
				}
			} else {
				inv.printf("rotated %d credential(s) to key version %d\n", len(rotated), to)
				for _, p := range names {
					inv.printf("not rotated: %s\n", p)
				}
			}
			if len(failed) > 0 {
				return &output.Error{Code: output.CodeCredentialUndecryptable, Silent: inv.g.json,
					Message: fmt.Sprintf("%d credential(s) could not be rotated and keep their old blobs", len(failed)),
					Hint:    "re-running is safe; set them again with `alknet creds set`"}
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	pass.register(fs)
	fs.Uint32Var(&to, "to", 0, "target key version (default: current + 1)")
	fs.BoolVar(&skipFailed, "skip-failed", false, "rotate what can be rotated and list the rest")
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	return cmd
}
