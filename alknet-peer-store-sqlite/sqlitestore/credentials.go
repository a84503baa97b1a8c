package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/store"
)

// Credentials is the credential view of a [Store]: a store.CredentialStore and
// store.CredentialLister over EncryptedData blobs, which it stores exactly as given and never
// decrypts. Get answers from the in-memory snapshot. Every write method makes the writing process
// see its effect from Get before it returns, except when the reload after the commit fails, which
// Health then reports (PSTORE-R39). Safe for concurrent use.
type Credentials struct{ s *Store }

var (
	_ store.CredentialStore  = (*Credentials)(nil)
	_ store.CredentialLister = (*Credentials)(nil)
)

// CredentialRecord is a credential's metadata; it never holds blob bytes.
type CredentialRecord struct {
	Provider   string
	KeyVersion uint32
	CreatedAt  time.Time // UTC
	UpdatedAt  time.Time // UTC
}

// RotateOptions tunes [Credentials.Rotate].
type RotateOptions struct {
	// SkipFailed leaves rows whose callback fails unchanged and reports them; false (the
	// default) makes any callback error abort the whole rotation.
	SkipFailed bool
}

// RotateResult reports a rotation.
type RotateResult struct {
	Rotated []string         // provider names now at the target version, sorted
	Failed  map[string]error // only with SkipFailed; those rows are left unchanged
}

// Get returns a copy of the blob for provider from the snapshot (PSTORE-R35); found=false for
// an absent or invalid name. STORE_CLOSED after Close; STORE_BACKEND while failed closed
// (never a silent not-found, CORE-R1211). It does no I/O and ignores ctx.
func (c *Credentials) Get(_ context.Context, provider string) (store.EncryptedData, bool, error) {
	if err := c.s.usable(); err != nil {
		return store.EncryptedData{}, false, err
	}
	snap := c.s.creds.Load()
	if snap.failed {
		return store.EncryptedData{}, false, coreErr(alkerr.CodeStoreBackend,
			c.s.msgf("credential store unreadable for longer than max_stale"), c.s.Health())
	}
	e, ok := snap.byProvider[provider]
	if !ok {
		return store.EncryptedData{}, false, nil
	}
	return e.Clone(), true, nil
}

// Put inserts or replaces the blob for provider (CORE-R1210, PSTORE-R8). STORE_INVALID for an
// invalid name or blob; write errors as for every write method. The writing process sees the
// blob from Get when Put returns (PSTORE-R39).
func (c *Credentials) Put(ctx context.Context, provider string, data store.EncryptedData) error {
	s := c.s
	if !validProvider(provider) {
		return coreErr(alkerr.CodeStoreInvalid, fmt.Sprintf("credential provider name %q must be 1-128 bytes of [A-Za-z0-9._-]", provider), nil)
	}
	if err := data.Validate(); err != nil {
		return coreErr(alkerr.CodeStoreInvalid, "credential "+provider+": "+errMessage(err), err)
	}
	salt := data.Salt
	if salt == nil {
		salt = []byte{} // PSTORE-R74: a nil []byte binds as NULL
	}
	err := s.inWriteTx(ctx, "put credential "+provider, func(tx *sql.Tx) error {
		now := s.ms(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO credentials (provider, key_version, salt, iv, data, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (provider) DO UPDATE SET key_version = excluded.key_version, salt = excluded.salt,
			  iv = excluded.iv, data = excluded.data, updated_at = excluded.updated_at`,
			provider, int64(data.KeyVersion), salt, data.IV, data.Data, now, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, "credential.put", provider, map[string]any{"key_version": data.KeyVersion})
	})
	if err != nil {
		return err
	}
	s.afterWrite(ctx)
	return nil
}

// Delete removes the blob for provider; an absent provider is not an error and writes nothing.
func (c *Credentials) Delete(ctx context.Context, provider string) error {
	s := c.s
	if !validProvider(provider) {
		if err := s.usable(); err != nil {
			return err
		}
		return nil
	}
	changed := false
	err := s.inWriteTx(ctx, "delete credential "+provider, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM credentials WHERE provider = ?`, provider)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		changed = true
		return s.audit(ctx, tx, "credential.delete", provider, nil)
	})
	if err != nil {
		return err
	}
	if changed {
		s.afterWrite(ctx)
	}
	return nil
}

// Providers lists every stored provider name from the database, sorted (CORE-R1213).
func (c *Credentials) Providers(ctx context.Context) ([]string, error) {
	recs, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Provider
	}
	return out, nil
}

// List reads the metadata of every credential from the database, sorted by provider.
func (c *Credentials) List(ctx context.Context) ([]CredentialRecord, error) {
	if err := c.s.usable(); err != nil {
		return nil, err
	}
	rows, err := c.s.reader.QueryContext(ctx, `SELECT provider, key_version, created_at, updated_at FROM credentials ORDER BY provider`)
	if err != nil {
		return nil, c.s.mapErr(ctx, "list credentials", err)
	}
	defer rows.Close()
	out := []CredentialRecord{}
	for rows.Next() {
		var r CredentialRecord
		var v, created, updated int64
		if err := rows.Scan(&r.Provider, &v, &created, &updated); err != nil {
			return nil, c.s.mapErr(ctx, "list credentials", err)
		}
		r.KeyVersion, r.CreatedAt, r.UpdatedAt = uint32(v), fromMS(created), fromMS(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, c.s.mapErr(ctx, "list credentials", err)
	}
	return out, nil
}

// CurrentKeyVersion returns the key version new encryptions should use (PSTORE-R15).
func (c *Credentials) CurrentKeyVersion(ctx context.Context) (uint32, error) {
	if err := c.s.usable(); err != nil {
		return 0, err
	}
	v, err := keyVersion(ctx, c.s.reader)
	if err != nil {
		return 0, c.s.mapErr(ctx, "read credential key version", err)
	}
	return v, nil
}

func keyVersion(ctx context.Context, q querier) (uint32, error) {
	var text string
	if err := q.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'credential_key_version'`).Scan(&text); err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		return 0, coreErr(alkerr.CodeStoreSerialization, "stored credential_key_version is not a number", err)
	}
	return uint32(v), nil
}

// Rotate re-encrypts, in one transaction, every credential whose key version is below
// toVersion through reencrypt (the caller passes the vault's rotate primitive, so the store
// never sees plaintext), in provider order, then sets the current key version (PSTORE-R53).
// A callback error aborts everything unless opts.SkipFailed; a result that is not at toVersion
// or fails Validate aborts with STORE_INVALID in both modes; toVersion below the current key
// version is STORE_INVALID. reencrypt runs while the write lock is held.
func (c *Credentials) Rotate(ctx context.Context, toVersion uint32, opts RotateOptions,
	reencrypt func(provider string, in store.EncryptedData) (store.EncryptedData, error),
) (RotateResult, error) {
	s := c.s
	var res RotateResult
	err := s.inWriteTx(ctx, "rotate credentials", func(tx *sql.Tx) error {
		res = RotateResult{Rotated: []string{}}
		cur, err := keyVersion(ctx, tx)
		if err != nil {
			return err
		}
		if toVersion < cur || toVersion < 1 {
			return coreErr(alkerr.CodeStoreInvalid, fmt.Sprintf("rotate credentials: target version %d is below the current key version %d", toVersion, cur), nil)
		}
		type row struct {
			provider string
			data     store.EncryptedData
		}
		rows, err := tx.QueryContext(ctx, `SELECT provider, key_version, salt, iv, data FROM credentials WHERE key_version < ? ORDER BY provider`, int64(toVersion))
		if err != nil {
			return err
		}
		var todo []row
		for rows.Next() {
			var r row
			var v int64
			if err := rows.Scan(&r.provider, &v, &r.data.Salt, &r.data.IV, &r.data.Data); err != nil {
				rows.Close()
				return err
			}
			r.data.KeyVersion = uint32(v)
			todo = append(todo, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range todo {
			out, err := reencrypt(r.provider, r.data.Clone())
			if err != nil {
				if opts.SkipFailed {
					if res.Failed == nil {
						res.Failed = map[string]error{}
					}
					res.Failed[r.provider] = err
					continue
				}
				return userErr{fmt.Errorf("rotate credential %s: %w", r.provider, err)}
			}
			if out.KeyVersion != toVersion {
				return coreErr(alkerr.CodeStoreInvalid, fmt.Sprintf("rotate credential %s: re-encrypted blob has key version %d, want %d", r.provider, out.KeyVersion, toVersion), nil)
			}
			if err := out.Validate(); err != nil {
				return coreErr(alkerr.CodeStoreInvalid, "rotate credential "+r.provider+": "+errMessage(err), err)
			}
			salt := out.Salt
			if salt == nil {
				salt = []byte{}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE credentials SET key_version = ?, salt = ?, iv = ?, data = ?, updated_at = ? WHERE provider = ?`,
				int64(out.KeyVersion), salt, out.IV, out.Data, s.ms(s.now()), r.provider); err != nil {
				return err
			}
			res.Rotated = append(res.Rotated, r.provider)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE store_meta SET value = ? WHERE key = 'credential_key_version'`, strconv.FormatUint(uint64(toVersion), 10)); err != nil {
			return err
		}
		sort.Strings(res.Rotated)
		return s.audit(ctx, tx, "credential.rotate", "*", map[string]any{
			"from": cur, "to": toVersion, "rotated": len(res.Rotated), "failed": len(res.Failed),
		})
	})
	if err != nil {
		return RotateResult{}, err
	}
	s.afterWrite(ctx)
	return res, nil
}
