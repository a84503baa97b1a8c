package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/store"
)

// querier is what both *sql.Tx and *sql.DB offer for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reloadLocked reads the schema version and the change counters and, for every snapshot whose
// generations differ (or all with force), the rows, all in one read transaction; then it swaps
// the new snapshots in and publishes the change (PSTORE-R29, R30, R73). The caller holds
// reloadMu. It returns the channels that were rebuilt.
func (s *Store) reloadLocked(ctx context.Context, force bool) ([]Channel, error) {
	start := time.Now()
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.mapErr(ctx, "reload peer store", err)
	}
	defer func() { _ = tx.Rollback() }()
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return nil, s.mapErr(ctx, "reload peer store", err)
	}
	if err := s.schemaProblem(int(v.Int64)); err != nil {
		return nil, err
	}
	gens, err := readCounters(ctx, tx)
	if err != nil {
		return nil, s.mapErr(ctx, "reload peer store", err)
	}
	curID, curCr := s.ident.Load(), s.creds.Load()
	var (
		newID   *identitySnapshot
		newCr   *credentialSnapshot
		dropID  []string
		dropCr  []string
		changed []Channel
	)
	if force || curID.peersGen != gens[ChannelPeers] || curID.keysGen != gens[ChannelAPIKeys] {
		pol, dropped, err := s.loadIdentity(ctx, tx)
		if err != nil {
			return nil, err
		}
		newID = &identitySnapshot{peersGen: gens[ChannelPeers], keysGen: gens[ChannelAPIKeys], policy: pol}
		dropID = dropped
		if force || curID.peersGen != gens[ChannelPeers] {
			changed = append(changed, ChannelPeers)
		}
		if force || curID.keysGen != gens[ChannelAPIKeys] {
			changed = append(changed, ChannelAPIKeys)
		}
	}
	if force || curCr.gen != gens[ChannelCredentials] {
		m, dropped, err := s.loadCredentials(ctx, tx)
		if err != nil {
			return nil, err
		}
		newCr = &credentialSnapshot{gen: gens[ChannelCredentials], byProvider: m}
		dropCr = dropped
		changed = append(changed, ChannelCredentials)
	}
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return nil, s.mapErr(ctx, "reload peer store", err)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if s.closed.Load() {
		// Close has swapped in the empty snapshots under reloadMu; never bring them back.
		return nil, s.usable()
	}
	if newID != nil {
		s.ident.Store(newID)
		s.dropIdent = dropID
	}
	if newCr != nil {
		s.creds.Store(newCr)
		s.dropCreds = dropCr
	}
	s.reloads.Add(1)
	st := *s.state.Load()
	st.lastReload = s.now()
	s.state.Store(&st)
	s.log.LogAttrs(ctx, slog.LevelDebug, "peer store reloaded", slog.Any("channels", changed),
		slog.Int64("peers_generation", gens[ChannelPeers]), slog.Int64("api_keys_generation", gens[ChannelAPIKeys]),
		slog.Int64("credentials_generation", gens[ChannelCredentials]), slog.Duration("took", time.Since(start)))
	s.publish(changed)
	return changed, nil
}

func readCounters(ctx context.Context, q querier) (map[Channel]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT channel, generation FROM change_counters")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	gens := map[Channel]int64{}
	for rows.Next() {
		var c string
		var g int64
		if err := rows.Scan(&c, &g); err != nil {
			return nil, err
		}
		gens[Channel(c)] = g
	}
	return gens, rows.Err()
}

// peerRow is one peers row with its fingerprints, as stored.
type peerRow struct {
	PeerID       string
	TokenHash    sql.NullString
	Scopes       string
	Resources    string
	DisplayName  sql.NullString
	Enabled      int64
	Fingerprints []string
	Revision     int64
	CreatedAt    int64
	UpdatedAt    int64
}

// keyRow is one api_keys row, as stored.
type keyRow struct {
	Prefix      string
	Hash        string
	Scopes      string
	Description string
	ExpiresAt   sql.NullInt64
}

// loadIdentity builds the compiled policy from one read transaction, dropping rows that fail
// validation (PSTORE-R31, R66, R79). dropped is a STORE_SERIALIZATION error naming what was
// dropped, or nil.
func (s *Store) loadIdentity(ctx context.Context, tx querier) (*auth.Policy, []string, error) {
	peers, err := readPeerRows(ctx, tx, "")
	if err != nil {
		return nil, nil, s.mapErr(ctx, "reload peers", err)
	}
	orphans, err := readOrphans(ctx, tx)
	if err != nil {
		return nil, nil, s.mapErr(ctx, "reload peers", err)
	}
	keys, err := readKeyRows(ctx, tx, false)
	if err != nil {
		return nil, nil, s.mapErr(ctx, "reload api keys", err)
	}
	var problems []string
	for _, fp := range orphans {
		s.log.LogAttrs(ctx, slog.LevelWarn, "orphaned fingerprint row ignored", slog.String("fingerprint", fp))
		problems = append(problems, "fingerprint "+fp+" belongs to no peer")
	}
	var pol auth.AuthPolicy
	for _, r := range peers {
		p, err := convertPeerRow(r)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "stored peer skipped", slog.String("peer_id", r.PeerID), slog.String("err", errMessage(err)))
			problems = append(problems, "peer "+r.PeerID+": "+errMessage(err))
			continue
		}
		pol.Peers = append(pol.Peers, p)
	}
	for _, r := range keys {
		k, err := convertKeyRow(r)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "stored API key skipped", slog.String("prefix", r.Prefix), slog.String("err", errMessage(err)))
			problems = append(problems, "api key "+r.Prefix+": "+errMessage(err))
			continue
		}
		pol.APIKeys = append(pol.APIKeys, k)
	}
	// The one cross-table rule no constraint enforces: a peer token hash equal to an active
	// API key's hash drops both rows (fail closed for both).
	keyHash := map[string]int{}
	for i, k := range pol.APIKeys {
		keyHash[k.Hash] = i
	}
	dropKey := map[int]bool{}
	kept := pol.Peers[:0]
	for _, p := range pol.Peers {
		if i, ok := keyHash[p.AuthTokenHash]; ok && p.AuthTokenHash != "" {
			dropKey[i] = true
			s.log.LogAttrs(ctx, slog.LevelError, "peer token hash equals an API key hash; both skipped",
				slog.String("peer_id", p.PeerID), slog.String("prefix", pol.APIKeys[i].Prefix))
			problems = append(problems, "peer "+p.PeerID+" and api key "+pol.APIKeys[i].Prefix+" share a token hash")
			continue
		}
		kept = append(kept, p)
	}
	pol.Peers = kept
	if len(dropKey) > 0 {
		var ks []auth.APIKeyEntry
		for i, k := range pol.APIKeys {
			if !dropKey[i] {
				ks = append(ks, k)
			}
		}
		pol.APIKeys = ks
	}
	// Fast path: one compile of the whole policy. Only when it fails are the rows validated one
	// by one, so that a bad hand edit costs only the rows involved (PSTORE-R31).
	compiled, err := auth.Compile(pol)
	if err != nil {
		pol, problems = s.dropInvalidRows(ctx, pol, problems)
		compiled, err = auth.Compile(pol)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "compiling the stored policy failed after row validation", slog.String("err", errMessage(err)))
		return nil, nil, coreErr(alkerr.CodeStoreSerialization, s.msgf("stored peers and API keys do not form a valid policy: %s", errMessage(err)), err)
	}
	return compiled, problems, nil
}

// readPeerRows reads peers (one peer when id is not empty) with their fingerprints in rowid
// order. Orphaned fingerprint rows are not attached to anything.
func readPeerRows(ctx context.Context, q querier, id string) ([]peerRow, error) {
	query := `SELECT peer_id, auth_token_hash, scopes, resources, display_name, enabled, revision, created_at, updated_at FROM peers`
	fq := `SELECT fingerprint, peer_id FROM peer_fingerprints ORDER BY rowid`
	var args []any
	if id != "" {
		query += ` WHERE peer_id = ?`
		fq = `SELECT fingerprint, peer_id FROM peer_fingerprints WHERE peer_id = ? ORDER BY rowid`
		args = []any{id}
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY peer_id`, args...)
	if err != nil {
		return nil, err
	}
	var out []peerRow
	idx := map[string]int{}
	for rows.Next() {
		var r peerRow
		if err := rows.Scan(&r.PeerID, &r.TokenHash, &r.Scopes, &r.Resources, &r.DisplayName, &r.Enabled, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		idx[r.PeerID] = len(out)
		r.Fingerprints = []string{}
		out = append(out, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	frows, err := q.QueryContext(ctx, fq, args...)
	if err != nil {
		return nil, err
	}
	defer frows.Close()
	for frows.Next() {
		var fp, pid string
		if err := frows.Scan(&fp, &pid); err != nil {
			return nil, err
		}
		if i, ok := idx[pid]; ok {
			out[i].Fingerprints = append(out[i].Fingerprints, fp)
		}
	}
	return out, frows.Err()
}

func readOrphans(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT fingerprint FROM peer_fingerprints f
		WHERE NOT EXISTS (SELECT 1 FROM peers p WHERE p.peer_id = f.peer_id) ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return nil, err
		}
		out = append(out, fp)
	}
	return out, rows.Err()
}

func readKeyRows(ctx context.Context, q querier, includeRevoked bool) ([]keyRow, error) {
	query := `SELECT prefix, hash, scopes, description, expires_at FROM api_keys`
	if !includeRevoked {
		query += ` WHERE revoked_at IS NULL`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY prefix`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		if err := rows.Scan(&r.Prefix, &r.Hash, &r.Scopes, &r.Description, &r.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// peerFromRow converts and validates one stored peer with core's rules (PSTORE-R31).
func peerFromRow(r peerRow) (auth.PeerEntry, error) {
	p, err := convertPeerRow(r)
	if err != nil {
		return auth.PeerEntry{}, err
	}
	if err := validPeer(p); err != nil {
		return auth.PeerEntry{}, err
	}
	return p, nil
}

func validPeer(p auth.PeerEntry) error {
	if _, err := auth.Compile(auth.AuthPolicy{Peers: []auth.PeerEntry{p}}); err != nil {
		return serializationf("%s", errMessage(err))
	}
	return nil
}

func validKey(k auth.APIKeyEntry) error {
	if _, err := auth.Compile(auth.AuthPolicy{APIKeys: []auth.APIKeyEntry{k}}); err != nil {
		return serializationf("%s", errMessage(err))
	}
	return nil
}

// dropInvalidRows validates every entry on its own and returns the policy without the failing
// ones, adding each to problems.
func (s *Store) dropInvalidRows(ctx context.Context, pol auth.AuthPolicy, problems []string) (auth.AuthPolicy, []string) {
	var out auth.AuthPolicy
	for _, p := range pol.Peers {
		if err := validPeer(p); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "stored peer skipped", slog.String("peer_id", p.PeerID), slog.String("err", errMessage(err)))
			problems = append(problems, "peer "+p.PeerID+": "+errMessage(err))
			continue
		}
		out.Peers = append(out.Peers, p)
	}
	for _, k := range pol.APIKeys {
		if err := validKey(k); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "stored API key skipped", slog.String("prefix", k.Prefix), slog.String("err", errMessage(err)))
			problems = append(problems, "api key "+k.Prefix+": "+errMessage(err))
			continue
		}
		out.APIKeys = append(out.APIKeys, k)
	}
	return out, problems
}

// convertPeerRow decodes one stored peer and checks what core's validation cannot see: the
// JSON columns and that stored fingerprints are canonical (a non-canonical one is invalid
// rather than silently canonicalised, so the uniqueness the database enforces is the one
// auth.Compile sees).
func convertPeerRow(r peerRow) (auth.PeerEntry, error) {
	scopes, err := decodeScopes(r.Scopes)
	if err != nil {
		return auth.PeerEntry{}, err
	}
	res, err := decodeResources(r.Resources)
	if err != nil {
		return auth.PeerEntry{}, err
	}
	if r.Enabled != 0 && r.Enabled != 1 {
		return auth.PeerEntry{}, serializationf("enabled is %d, want 0 or 1", r.Enabled)
	}
	fps := make([]string, 0, len(r.Fingerprints))
	for i, fp := range r.Fingerprints {
		c, err := fingerprint.Parse(fp)
		if err != nil || c != fp {
			return auth.PeerEntry{}, serializationf("fingerprints[%d] is not a canonical fingerprint", i)
		}
		fps = append(fps, fp)
	}
	for t, names := range res {
		res[t] = dedupe(names)
	}
	p := auth.PeerEntry{
		PeerID:        r.PeerID,
		Fingerprints:  fps,
		AuthTokenHash: r.TokenHash.String,
		Scopes:        dedupe(scopes), // harmless duplicates (core removes them); canonical here
		Resources:     res,
		DisplayName:   r.DisplayName.String,
	}
	if r.Enabled == 0 {
		p.Enabled = new(bool)
	}
	return normalizePeer(p), nil
}

// keyFromRow converts and validates one stored API key with core's rules (PSTORE-R31).
func keyFromRow(r keyRow) (auth.APIKeyEntry, error) {
	k, err := convertKeyRow(r)
	if err != nil {
		return auth.APIKeyEntry{}, err
	}
	if err := validKey(k); err != nil {
		return auth.APIKeyEntry{}, err
	}
	return k, nil
}

// convertKeyRow decodes one stored API key.
func convertKeyRow(r keyRow) (auth.APIKeyEntry, error) {
	scopes, err := decodeScopes(r.Scopes)
	if err != nil {
		return auth.APIKeyEntry{}, err
	}
	k := auth.APIKeyEntry{Prefix: r.Prefix, Hash: r.Hash, Scopes: scopes, Description: r.Description}
	if r.ExpiresAt.Valid {
		v := r.ExpiresAt.Int64
		k.ExpiresAt = &v
	}
	return k, nil
}

// decodeScopes decodes a scopes column: a JSON array of strings (PSTORE-R66). The result is
// never nil.
func decodeScopes(text string) ([]string, error) {
	var out []string
	if err := decodeStrict(text, &out); err != nil {
		return nil, serializationf("scopes: %v", err)
	}
	if out == nil {
		return nil, serializationf("scopes: not an array")
	}
	return out, nil
}

// decodeResources decodes a resources column: a JSON object of arrays of strings. An empty
// object gives nil (PSTORE-R69).
func decodeResources(text string) (map[string][]string, error) {
	var out map[string][]string
	if err := decodeStrict(text, &out); err != nil {
		return nil, serializationf("resources: %v", err)
	}
	if out == nil {
		return nil, serializationf("resources: not an object")
	}
	for k, v := range out {
		if v == nil {
			return nil, serializationf("resources: %q is not an array", k)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// decodeDetail decodes an audit detail column: a JSON object.
func decodeDetail(text string) (map[string]any, error) {
	var out map[string]any
	if err := decodeStrict(text, &out); err != nil {
		return nil, serializationf("detail: %v", err)
	}
	if out == nil {
		return nil, serializationf("detail: not an object")
	}
	return out, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing trailing data.
func decodeStrict(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func serializationf(format string, args ...any) error {
	return coreErr(alkerr.CodeStoreSerialization, fmt.Sprintf(format, args...), nil)
}

// errMessage returns the operator-safe message of a coded error, or err.Error() otherwise.
func errMessage(err error) string {
	var ae *alkerr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// loadCredentials reads every credential row, dropping invalid ones (PSTORE-R66).
func (s *Store) loadCredentials(ctx context.Context, q querier) (map[string]store.EncryptedData, []string, error) {
	rows, err := q.QueryContext(ctx, `SELECT provider, key_version, salt, iv, data FROM credentials ORDER BY provider`)
	if err != nil {
		return nil, nil, s.mapErr(ctx, "reload credentials", err)
	}
	defer rows.Close()
	out := map[string]store.EncryptedData{}
	var problems []string
	for rows.Next() {
		var p string
		var v int64
		var e store.EncryptedData
		if err := rows.Scan(&p, &v, &e.Salt, &e.IV, &e.Data); err != nil {
			return nil, nil, s.mapErr(ctx, "reload credentials", err)
		}
		if v < 1 || v > 1<<32-1 || !validProvider(p) {
			problems = append(problems, "credential "+p+": invalid provider or key version")
			continue
		}
		e.KeyVersion = uint32(v)
		if e.Salt == nil {
			e.Salt = []byte{}
		}
		if err := e.Validate(); err != nil {
			problems = append(problems, "credential "+p+": "+errMessage(err))
			continue
		}
		out[p] = e
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.mapErr(ctx, "reload credentials", err)
	}
	for _, p := range problems {
		s.log.LogAttrs(ctx, slog.LevelError, "stored credential skipped", slog.String("problem", p))
	}
	return out, problems, nil
}

// validProvider implements CORE-R1210: 1–128 bytes of [A-Za-z0-9._-].
func validProvider(p string) bool {
	if len(p) == 0 || len(p) > 128 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
