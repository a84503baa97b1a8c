package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/secret"
)

// APIKeys is the API-key management view of a [Store]. Keys resolve through
// [Identities.ResolveToken]; rows are never deleted, so a prefix is never issued twice
// (PSTORE-R13). Every write method makes the writing process resolve with its effect before it
// returns, except when the reload after the commit fails, which Health then reports (PSTORE-R39).
// Safe for concurrent use.
type APIKeys struct{ s *Store }

// NewAPIKey describes a key to issue.
type NewAPIKey struct {
	Scopes      []string
	Description string
	ExpiresAt   *int64 // Unix seconds; nil = never (core's APIKeyEntry convention)
}

// APIKeyRecord is a stored API key with its bookkeeping. It never holds the token.
type APIKeyRecord struct {
	auth.APIKeyEntry
	CreatedAt time.Time // UTC
	RevokedAt time.Time // zero = active
}

// Create issues a new key with core's auth.GenerateAPIKey inside the write transaction, so a
// prefix is never issued twice, revoked ones included (PSTORE-R40). The token is returned once
// as a redacting secret; only its hash is stored. STORE_CONFLICT (also matching
// auth.ErrPrefixExhausted) when no free prefix was found.
func (k *APIKeys) Create(ctx context.Context, req NewAPIKey) (secret.Secret, APIKeyRecord, error) {
	s := k.s
	if len(req.Scopes) > MaxScopes {
		return secret.Secret{}, APIKeyRecord{}, coreErr(alkerr.CodeStoreInvalid, "create api key: too many scopes", nil)
	}
	var tok secret.Secret
	var rec APIKeyRecord
	err := s.inWriteTx(ctx, "create api key", func(tx *sql.Tx) error {
		t, e, err := auth.GenerateAPIKey(auth.APIKeySpec{
			Scopes: req.Scopes, Description: req.Description, ExpiresAt: req.ExpiresAt, Rand: s.opts.Rand,
			Taken: func(prefix string) (bool, error) {
				var n int
				err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE prefix = ?`, prefix).Scan(&n)
				return n > 0, err
			},
		})
		if err != nil {
			if errors.Is(err, auth.ErrPrefixExhausted) {
				return newErr(CodeConflict, "create api key: prefix space exhausted", err)
			}
			if hasCode(err) {
				return coreErr(alkerr.CodeStoreInvalid, "create api key: "+errMessage(err), err)
			}
			return err
		}
		tok = t
		rec, err = s.insertKeyTx(ctx, tx, e, "apikey.create")
		return err
	})
	if err != nil {
		tok.Destroy()
		return secret.Secret{}, APIKeyRecord{}, err
	}
	s.afterWrite(ctx)
	return tok, rec, nil
}

// Import stores an API key that carries only a hash (migrating keys from a config file),
// validated with CORE-R1006 (PSTORE-R42). STORE_CONFLICT when the prefix was ever used or the
// hash is held by another key or by a peer token.
func (k *APIKeys) Import(ctx context.Context, e auth.APIKeyEntry) (APIKeyRecord, error) {
	s := k.s
	e = e.Clone()
	if e.Scopes == nil {
		e.Scopes = []string{}
	}
	e.Scopes = dedupe(e.Scopes)
	if len(e.Scopes) > MaxScopes {
		return APIKeyRecord{}, coreErr(alkerr.CodeStoreInvalid, "api key "+e.Prefix+": too many scopes", nil)
	}
	if _, err := auth.Compile(auth.AuthPolicy{APIKeys: []auth.APIKeyEntry{e}}); err != nil {
		return APIKeyRecord{}, coreErr(alkerr.CodeStoreInvalid, errMessage(err), err)
	}
	var rec APIKeyRecord
	err := s.inWriteTx(ctx, "import api key "+e.Prefix, func(tx *sql.Tx) error {
		var err error
		rec, err = s.insertKeyTx(ctx, tx, e, "apikey.import")
		return err
	})
	if err != nil {
		return APIKeyRecord{}, err
	}
	s.afterWrite(ctx)
	return rec, nil
}

func (s *Store) insertKeyTx(ctx context.Context, tx *sql.Tx, e auth.APIKeyEntry, action string) (APIKeyRecord, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE prefix = ?`, e.Prefix).Scan(&n); err != nil {
		return APIKeyRecord{}, err
	}
	if n > 0 {
		return APIKeyRecord{}, newErr(CodeConflict, "api key prefix "+e.Prefix+" was already used (prefixes are never reused)", nil)
	}
	var owner string
	err := tx.QueryRowContext(ctx, `SELECT peer_id FROM peers WHERE auth_token_hash = ?`, e.Hash).Scan(&owner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return APIKeyRecord{}, err
	}
	if err == nil {
		return APIKeyRecord{}, newErr(CodeConflict, "api key "+e.Prefix+": its hash equals the token hash of peer "+owner, nil)
	}
	scopes, err := json.Marshal(e.Scopes)
	if err != nil {
		return APIKeyRecord{}, err
	}
	var exp any
	if e.ExpiresAt != nil {
		exp = *e.ExpiresAt
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (prefix, hash, scopes, description, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, e.Prefix, e.Hash, string(scopes), e.Description, exp, s.ms(now)); err != nil {
		return APIKeyRecord{}, err
	}
	if err := s.audit(ctx, tx, action, e.Prefix, map[string]any{"scopes": e.Scopes}); err != nil {
		return APIKeyRecord{}, err
	}
	return APIKeyRecord{APIKeyEntry: e, CreatedAt: fromMS(s.ms(now))}, nil
}

// Revoke marks a key revoked; it stops resolving at commit. STORE_NOT_FOUND for an unknown
// prefix; an already revoked key is returned unchanged with no error and no audit row.
func (k *APIKeys) Revoke(ctx context.Context, prefix string) (APIKeyRecord, error) {
	s := k.s
	var rec APIKeyRecord
	err := s.inWriteTx(ctx, "revoke api key "+prefix, func(tx *sql.Tx) error {
		recs, err := readKeyRecords(ctx, tx, prefix)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return coreErr(alkerr.CodeStoreNotFound, "api key "+prefix+" does not exist", nil)
		}
		rec = recs[0]
		if !rec.RevokedAt.IsZero() {
			return nil
		}
		now := s.ms(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE prefix = ?`, now, prefix); err != nil {
			return err
		}
		rec.RevokedAt = fromMS(now)
		return s.audit(ctx, tx, "apikey.revoke", prefix, nil)
	})
	if err != nil {
		return APIKeyRecord{}, err
	}
	s.afterWrite(ctx)
	return rec, nil
}

// List reads the keys from the database, sorted by prefix; revoked ones only with
// includeRevoked.
func (k *APIKeys) List(ctx context.Context, includeRevoked bool) ([]APIKeyRecord, error) {
	if err := k.s.usable(); err != nil {
		return nil, err
	}
	recs, err := readKeyRecords(ctx, k.s.reader, "")
	if err != nil {
		return nil, k.s.mapErr(ctx, "list api keys", err)
	}
	out := recs[:0]
	for _, r := range recs {
		if includeRevoked || r.RevokedAt.IsZero() {
			out = append(out, r)
		}
	}
	return out, nil
}

func readKeyRecords(ctx context.Context, q querier, prefix string) ([]APIKeyRecord, error) {
	query := `SELECT prefix, hash, scopes, description, expires_at, created_at, revoked_at FROM api_keys`
	var args []any
	if prefix != "" {
		query += ` WHERE prefix = ?`
		args = append(args, prefix)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY prefix`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKeyRecord
	for rows.Next() {
		var r keyRow
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&r.Prefix, &r.Hash, &r.Scopes, &r.Description, &r.ExpiresAt, &created, &revoked); err != nil {
			return nil, err
		}
		e, err := keyFromRow(r)
		if err != nil {
			return nil, coreErr(alkerr.CodeStoreSerialization, "stored api key "+r.Prefix+" is invalid: "+errMessage(err), err)
		}
		rec := APIKeyRecord{APIKeyEntry: e, CreatedAt: fromMS(created)}
		if revoked.Valid {
			rec.RevokedAt = fromMS(revoked.Int64)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}
