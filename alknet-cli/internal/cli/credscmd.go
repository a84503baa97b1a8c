package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-core/store"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
	"github.com/alknet/alknet/alknet-vault/vault"
)

// toVault and toStore convert between the vault's and core's EncryptedData: both share one
// JSON form byte for byte (VAULT-R51, CORE-R1201), and the vault imports no alknet module.
func toVault(e store.EncryptedData) (vault.EncryptedData, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return vault.EncryptedData{}, err
	}
	var v vault.EncryptedData
	if err := json.Unmarshal(b, &v); err != nil {
		return vault.EncryptedData{}, err
	}
	return v, nil
}

func toStore(v vault.EncryptedData) (store.EncryptedData, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return store.EncryptedData{}, err
	}
	var e store.EncryptedData
	if err := json.Unmarshal(b, &e); err != nil {
		return store.EncryptedData{}, err
	}
	return e, nil
}

// unlockNode loads and opens the keystore, unlocks the vault and checks the identity
// (CLI-R27). The caller locks the vault.
func (inv *invocation) unlockNode(ctx context.Context, s *session, p passFlags) (*vault.Vault, string, error) {
	f, err := inv.loadKeystore(s)
	if err != nil {
		return nil, "", err
	}
	src, err := inv.passSource(p)
	if err != nil {
		return nil, "", err
	}
	plain, err := inv.openKeystore(ctx, f, src)
	if err != nil {
		return nil, "", err
	}
	v, err := unlockVault(plain)
	if err != nil {
		return nil, "", err
	}
	if err := verifyIdentity(v, f); err != nil {
		v.Lock()
		return nil, "", err
	}
	return v, f.Identity.Fingerprint, nil
}

func (inv *invocation) newCredsCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "creds",
		Short: "Store, list and remove encrypted outbound credentials",
	}, inv.newCredsSetCmd(), inv.newCredsListCmd(), inv.newCredsRmCmd())
}

func (inv *invocation) newCredsSetCmd() *cobra.Command {
	var fromFile string
	var stdin bool
	var pass passFlags
	cmd := &cobra.Command{
		Use:   "set <provider>",
		Short: "Encrypt a credential with the vault and store it (prompts for the value)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			provider := args[0]
			if !store.ValidProvider(provider) {
				return output.Errorf(output.CodeInvalidInput, "%q is not a valid provider name", provider)
			}
			if stdin {
				if err := inv.useStdin("--stdin"); err != nil {
					return err
				}
			}
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			st, err := inv.openStore(ctx, s, storeExisting)
			if err != nil {
				return err
			}
			defer st.Close()
			plain, err := secretin.Read(ctx, secretin.Source{File: fromFile, Stdin: stdin}, inv.stdio.In, inv.stdio.Terminal,
				secretin.Request{What: "credential for " + provider, Max: secretin.MaxCredential, Flags: "--from-file PATH or --stdin"})
			if err != nil {
				return err
			}
			defer secretin.Wipe(plain)
			v, _, err := inv.unlockNode(ctx, s, pass)
			if err != nil {
				return err
			}
			defer v.Lock()
			kv, err := st.Credentials().CurrentKeyVersion(ctx)
			if err != nil {
				return err
			}
			blob, err := v.Encrypt(plain, kv)
			if err != nil {
				return err
			}
			sb, err := toStore(blob)
			if err != nil {
				return err
			}
			if err := st.Credentials().Put(ctx, provider, sb); err != nil {
				return err
			}
			running, _ := nodeRunning(s)
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, map[string]any{"provider": provider, "key_version": kv, "restart_required": running}, false)
			}
			inv.printf("stored credential %s (key version %d)\n", provider, kv)
			if running {
				inv.printf("A node is running: restart it to load the new value.\n")
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&fromFile, "from-file", "", "read the value from this file (mode 0600)")
	fs.BoolVar(&stdin, "stdin", false, "read the value from stdin")
	pass.register(fs)
	cmd.MarkFlagsMutuallyExclusive("from-file", "stdin")
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	cmd.MarkFlagsMutuallyExclusive("stdin", "passphrase-stdin")
	return cmd
}

// credJSON is one element of `creds list --json` (CLI-R77): metadata only.
type credJSON struct {
	Provider   string  `json:"provider"`
	KeyVersion uint32  `json:"key_version"`
	CreatedAt  *string `json:"created_at"`
	UpdatedAt  *string `json:"updated_at"`
}

func (inv *invocation) newCredsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List stored credentials (names and key versions, never values)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				recs, err := st.Credentials().List(ctx)
				if err != nil {
					return err
				}
				out := make([]credJSON, 0, len(recs))
				for _, r := range recs {
					out = append(out, credJSON{r.Provider, r.KeyVersion, rfc3339(r.CreatedAt), rfc3339(r.UpdatedAt)})
				}
				sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, out, false)
				}
				rows := make([][]string, 0, len(out))
				for _, c := range out {
					rows = append(rows, []string{c.Provider, fmt.Sprint(c.KeyVersion), humanTime(c.CreatedAt), humanTime(c.UpdatedAt)})
				}
				return output.Table(inv.stdio.Out, []string{"PROVIDER", "KEY VERSION", "CREATED", "UPDATED"}, rows)
			})
		}),
	}
}

func (inv *invocation) newCredsRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm <provider>",
		Short: "Remove a stored credential (asks for confirmation)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			provider := args[0]
			return inv.withStore(ctx, storeExisting, func(s *session, st *sqlitestore.Store) error {
				// Delete of an absent provider is nil by core's contract (CORE-R1211): check first.
				providers, err := st.Credentials().Providers(ctx)
				if err != nil {
					return err
				}
				found := false
				for _, p := range providers {
					found = found || p == provider
				}
				if !found {
					return output.Errorf(output.CodeNotFound, "credential %s does not exist", provider).
						WithHint("`alknet creds list` shows the stored providers")
				}
				if err := inv.confirm(ctx, "Remove credential "+provider+"?"); err != nil {
					return err
				}
				if err := st.Credentials().Delete(ctx, provider); err != nil {
					return err
				}
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, map[string]any{"provider": provider, "removed": true}, false)
				}
				inv.printf("removed credential %s\n", provider)
				return nil
			})
		}),
	}
}
