package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
)

// readPeerRecords reads peers (one when id is set) as validated records.
func readPeerRecords(ctx context.Context, q querier, id string) ([]PeerRecord, error) {
	rows, err := readPeerRows(ctx, q, id)
	if err != nil {
		return nil, err
	}
	out := make([]PeerRecord, 0, len(rows))
	for _, r := range rows {
		p, err := peerFromRow(r)
		if err != nil {
			return nil, coreErr(alkerr.CodeStoreSerialization, "stored peer "+r.PeerID+" is invalid: "+errMessage(err), err)
		}
		out = append(out, PeerRecord{PeerEntry: p, Revision: r.Revision, CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)})
	}
	return out, nil
}

// writePeerTx writes the canonical entry p inside tx: existence rule of mode, ownership checks
// with useful messages (the constraints remain the guarantee, PSTORE-R37), the upsert, the
// fingerprint set (kept rows keep their position) and one audit row. It returns the record as
// written.
func (s *Store) writePeerTx(ctx context.Context, tx *sql.Tx, p auth.PeerEntry, mode writeMode, action string) (PeerRecord, error) {
	old, err := readPeerRows(ctx, tx, p.PeerID)
	if err != nil {
		return PeerRecord{}, err
	}
	exists := len(old) == 1
	switch {
	case mode == modeCreate && exists:
		return PeerRecord{}, newErr(CodeConflict, "peer "+p.PeerID+" already exists", nil)
	case mode == modeUpdate && !exists:
		return PeerRecord{}, notFoundPeer(p.PeerID)
	}
	for _, fp := range p.Fingerprints {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT peer_id FROM peer_fingerprints WHERE fingerprint = ?`, fp).Scan(&owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return PeerRecord{}, err
		}
		if err == nil && owner != p.PeerID {
			return PeerRecord{}, newErr(CodeConflict, fmt.Sprintf("fingerprint %s is held by peer %s; remove it there first", fp, owner), nil)
		}
	}
	if p.AuthTokenHash != "" {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT peer_id FROM peers WHERE auth_token_hash = ? AND peer_id != ?`, p.AuthTokenHash, p.PeerID).Scan(&owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return PeerRecord{}, err
		}
		if err == nil {
			return PeerRecord{}, newErr(CodeConflict, fmt.Sprintf("peer %s: its token hash is already held by peer %s", p.PeerID, owner), nil)
		}
		var prefix string
		err = tx.QueryRowContext(ctx, `SELECT prefix FROM api_keys WHERE hash = ?`, p.AuthTokenHash).Scan(&prefix)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return PeerRecord{}, err
		}
		if err == nil {
			return PeerRecord{}, newErr(CodeConflict, fmt.Sprintf("peer %s: its token hash equals the hash of API key %s", p.PeerID, prefix), nil)
		}
	}
	scopes, err := json.Marshal(p.Scopes)
	if err != nil {
		return PeerRecord{}, err
	}
	res := p.Resources
	if res == nil {
		res = map[string][]string{}
	}
	resJSON, err := json.Marshal(res)
	if err != nil {
		return PeerRecord{}, err
	}
	var token, display any
	if p.AuthTokenHash != "" {
		token = p.AuthTokenHash
	}
	if p.DisplayName != "" {
		display = p.DisplayName
	}
	enabled := 1
	if !p.IsEnabled() {
		enabled = 0
	}
	now := s.ms(s.now())
	if _, err := tx.ExecContext(ctx, `INSERT INTO peers
		(peer_id, auth_token_hash, scopes, resources, display_name, enabled, revision, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (peer_id) DO UPDATE SET
		  auth_token_hash = excluded.auth_token_hash, scopes = excluded.scopes,
		  resources = excluded.resources, display_name = excluded.display_name,
		  enabled = excluded.enabled, revision = peers.revision + 1, updated_at = excluded.updated_at`,
		p.PeerID, token, string(scopes), string(resJSON), display, enabled, now, now); err != nil {
		return PeerRecord{}, err
	}
	var oldFPs, oldScopes []string
	oldEnabled := true
	if exists {
		oldFPs = old[0].Fingerprints
		if sc, err := decodeScopes(old[0].Scopes); err == nil {
			oldScopes = sc
		}
		oldEnabled = old[0].Enabled == 1
	}
	var added, removed []string
	for _, fp := range oldFPs {
		if !slices.Contains(p.Fingerprints, fp) {
			removed = append(removed, fp)
			if _, err := tx.ExecContext(ctx, `DELETE FROM peer_fingerprints WHERE fingerprint = ?`, fp); err != nil {
				return PeerRecord{}, err
			}
		}
	}
	for _, fp := range p.Fingerprints {
		if !slices.Contains(oldFPs, fp) {
			added = append(added, fp)
			if _, err := tx.ExecContext(ctx, `INSERT INTO peer_fingerprints (fingerprint, peer_id, added_at) VALUES (?, ?, ?)`, fp, p.PeerID, now); err != nil {
				return PeerRecord{}, err
			}
		}
	}
	detail := map[string]any{}
	if len(added) > 0 {
		detail["fingerprints_added"] = added
	}
	if len(removed) > 0 {
		detail["fingerprints_removed"] = removed
	}
	if sa := diff(p.Scopes, oldScopes); len(sa) > 0 {
		detail["scopes_added"] = sa
	}
	if sr := diff(oldScopes, p.Scopes); len(sr) > 0 {
		detail["scopes_removed"] = sr
	}
	if exists && oldEnabled != p.IsEnabled() {
		detail["enabled"] = p.IsEnabled()
	}
	if action == "peer.token" {
		detail = map[string]any{"token": "replaced"}
	}
	if err := s.audit(ctx, tx, action, p.PeerID, detail); err != nil {
		return PeerRecord{}, err
	}
	recs, err := readPeerRecords(ctx, tx, p.PeerID)
	if err != nil {
		return PeerRecord{}, err
	}
	if len(recs) != 1 {
		return PeerRecord{}, coreErr(alkerr.CodeStoreBackend, "peer "+p.PeerID+" vanished inside its write transaction", nil)
	}
	return recs[0], nil
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
