package cli

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
)

func (inv *invocation) newIdentityCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:     "identity",
		Aliases: []string{"keys"},
		Short:   "Show or rotate this node's identity",
	}, inv.newIdentityShowCmd(), inv.newIdentityRotateCmd())
}

// identityShow is the `identity show --json` shape (cli.md §7.2).
type identityShow struct {
	Fingerprint string  `json:"fingerprint"`
	Index       *uint32 `json:"index"`
	Path        *string `json:"path"`
	Source      string  `json:"source"`
	Verified    bool    `json:"verified"`
}

func (inv *invocation) newIdentityShowCmd() *cobra.Command {
	var verify bool
	var pass passFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the node's fingerprint, index and derivation path (no passphrase needed)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			f, err := inv.loadKeystore(s)
			if err != nil {
				// Without a keystore, a node running in ephemeral mode still has an identity.
				if e, ok := errors.AsType[*output.Error](err); ok && e.Code == output.CodeNotInitialized && !verify {
					if st, li, perr := paths.ProbeLock(s.layout.Lock.Path); perr == nil && st == paths.Running && li.Fingerprint != "" {
						return inv.printIdentity(identityShow{Fingerprint: li.Fingerprint, Source: "ephemeral"})
					}
				}
				return err
			}
			out := identityShow{Fingerprint: f.Identity.Fingerprint, Index: &f.Identity.Index, Path: &f.Identity.Path, Source: "keystore"}
			if verify {
				src, err := inv.passSource(pass)
				if err != nil {
					return err
				}
				p, err := inv.openKeystore(ctx, f, src)
				if err != nil {
					return err
				}
				v, err := unlockVault(p)
				if err != nil {
					return err
				}
				err = verifyIdentity(v, f)
				v.Lock()
				if err != nil {
					return err
				}
				out.Verified = true
			}
			return inv.printIdentity(out)
		}),
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "unlock the keystore and re-derive the key (asks for the passphrase)")
	pass.register(cmd.Flags())
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	return cmd
}

func (inv *invocation) printIdentity(out identityShow) error {
	if inv.g.json {
		return output.WriteJSON(inv.stdio.Out, out, false)
	}
	inv.printf("fingerprint  %s\n", out.Fingerprint)
	if out.Index != nil {
		inv.printf("index        %d\npath         %s\n", *out.Index, *out.Path)
	}
	inv.printf("source       %s\n", out.Source)
	if out.Source == "ephemeral" {
		inv.printf("(a running node's throw-away identity: it changes at every start; run `alknet init` for a persistent one)\n")
	}
	if out.Verified {
		inv.printf("verified     yes (re-derived from the mnemonic)\n")
	}
	return nil
}

// identityRotate is the `identity rotate --json` shape (cli.md §7.2).
type identityRotate struct {
	OldFingerprint  string `json:"old_fingerprint"`
	NewFingerprint  string `json:"new_fingerprint"`
	Index           uint32 `json:"index"`
	RestartRequired bool   `json:"restart_required"`
}

func (inv *invocation) newIdentityRotateCmd() *cobra.Command {
	var pass passFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Move to the next identity index and re-seal the keystore (takes effect at the next serve)",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			f, err := inv.loadKeystore(s)
			if err != nil {
				return err
			}
			if err := inv.confirm(ctx, "Rotate this node's identity key?"); err != nil {
				return err
			}
			src, err := inv.passSource(pass)
			if err != nil {
				return err
			}
			var ksPass []byte
			var p *keystore.Plain
			if f.Protected() {
				// Read the passphrase once: it unlocks and re-seals.
				ksPass, err = secretin.Read(ctx, src, inv.stdio.In, inv.stdio.Terminal, secretin.Request{
					What: "keystore passphrase", Max: secretin.MaxPassphrase, Flags: passphraseSources})
				if err != nil {
					return err
				}
				defer secretin.Wipe(ksPass)
				p, err = f.Open(ksPass)
			} else {
				p, err = f.Open(nil)
			}
			if err != nil {
				return err
			}
			defer p.Wipe()
			v, err := unlockVault(&keystore.Plain{Mnemonic: append([]byte(nil), p.Mnemonic...), BIP39Passphrase: append([]byte{}, p.BIP39Passphrase...)})
			if err != nil {
				return err
			}
			defer v.Lock()
			if err := verifyIdentity(v, f); err != nil {
				return err
			}
			next := f.Identity.Index + 1
			k, fp, err := deriveIdentity(v, next)
			if err != nil {
				return err
			}
			k.Wipe()
			id := keystore.Identity{Index: next, Path: keystore.IdentityPath(next), Fingerprint: fp}
			var nf *keystore.File
			if f.Protected() {
				nf, err = keystore.Seal(p, ksPass, f.KDF, id, f.CreatedAt, rand.Reader)
				if err != nil {
					return err
				}
			} else {
				nf = keystore.SealNone(p, id, f.CreatedAt)
				defer nf.Wipe()
			}
			if err := keystore.Save(s.layout.Keystore.Path, nf); err != nil {
				return err
			}
			out := identityRotate{OldFingerprint: f.Identity.Fingerprint, NewFingerprint: fp, Index: next, RestartRequired: true}
			if inv.g.json {
				return output.WriteJSON(inv.stdio.Out, out, false)
			}
			inv.printf("old fingerprint  %s\nnew fingerprint  %s (index %d)\n", out.OldFingerprint, out.NewFingerprint, next)
			inv.printf("Each remote operator that admits this node runs:\n  alknet peers rotate <this-node-id> --fingerprint %s --keep-old\n", fp)
			if running, _ := nodeRunning(s); running {
				inv.printf("The running node keeps its current key until it is restarted.\n")
			} else {
				inv.printf("The new key is used from the next `alknet serve`.\n")
			}
			return nil
		}),
	}
	pass.register(cmd.Flags())
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
	return cmd
}
