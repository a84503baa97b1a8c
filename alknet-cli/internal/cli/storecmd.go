package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

func (inv *invocation) newStoreCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "store",
		Short: "Inspect, check and back up the peer store",
	}, inv.newStoreInfoCmd(), inv.newStoreCheckCmd(), inv.newStoreBackupCmd())
}

func (inv *invocation) newStoreInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Path, sizes, schema version, store id, row counts and key version",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return inv.withStore(ctx, storeReadOnly, func(s *session, st *sqlitestore.Store) error {
				in, err := st.Info(ctx)
				if err != nil {
					return err
				}
				out := map[string]any{
					"path": in.Path, "size_bytes": in.FileSize, "wal_size_bytes": in.WALSize,
					"schema_version": in.SchemaVersion, "store_id": in.StoreID,
					"counts":              map[string]int{"peers": in.Peers, "api_keys": in.APIKeys, "credentials": in.Credentials},
					"current_key_version": in.CredentialKeyVersion,
				}
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, out, false)
				}
				inv.printf("path            %s\nsize            %d bytes (WAL %d bytes)\nschema version  %d\nstore id        %s\n",
					in.Path, in.FileSize, in.WALSize, in.SchemaVersion, in.StoreID)
				inv.printf("peers           %d\napi keys        %d\ncredentials     %d\nkey version     %d\n",
					in.Peers, in.APIKeys, in.Credentials, in.CredentialKeyVersion)
				return nil
			})
		}),
	}
}

func (inv *invocation) newStoreCheckCmd() *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run SQLite's quick (or full) integrity check and the foreign-key check",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			s, err := inv.setup(false)
			if err != nil {
				return err
			}
			mode := "quick"
			if full {
				mode = "full"
			}
			st, err := inv.openStore(ctx, s, storeReadOnly)
			var problems []string
			if err != nil {
				e := output.Classify(err)
				if e.Code != output.CodeStoreCorrupt && e.Code != output.CodeStoreForeign {
					return err
				}
				problems = append(problems, e.Message)
			} else {
				defer st.Close()
				if err := st.Check(ctx, full); err != nil {
					e := output.Classify(err)
					if e.Code != output.CodeStoreCorrupt {
						return err
					}
					problems = append(problems, e.Message)
				}
			}
			if problems == nil {
				problems = []string{}
			}
			if inv.g.json {
				if err := output.WriteJSON(inv.stdio.Out, map[string]any{"ok": len(problems) == 0, "mode": mode, "problems": problems}, false); err != nil {
					return err
				}
			} else if len(problems) == 0 {
				inv.printf("store %s: ok (%s check)\n", s.layout.Store.Path, mode)
			} else {
				for _, p := range problems {
					inv.printf("%s\n", p)
				}
			}
			if len(problems) > 0 {
				return &output.Error{Code: output.CodeStoreCorrupt, Silent: inv.g.json,
					Message: "store " + s.layout.Store.Path + " failed its integrity check",
					Hint:    "restore a backup (docs: store procedures); `alknet store backup` copies a healthy store"}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&full, "full", false, "run integrity_check instead of quick_check")
	return cmd
}

func (inv *invocation) newStoreBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup <dest>",
		Short: "Write a consistent online copy of the store (safe while the node runs)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			dest := args[0]
			return inv.withStore(ctx, storeReadOnly, func(s *session, st *sqlitestore.Store) error {
				if err := st.Backup(ctx, dest); err != nil {
					return err
				}
				fi, err := os.Stat(dest)
				if err != nil {
					return err
				}
				if inv.g.json {
					return output.WriteJSON(inv.stdio.Out, map[string]any{"path": dest, "size_bytes": fi.Size()}, false)
				}
				inv.printf("backed up to %s (%d bytes)\n", dest, fi.Size())
				return nil
			})
		}),
	}
}
