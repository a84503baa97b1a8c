package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/fingerprint"
	"github.com/alknet/alknet/alknet-core/secret"
)

// Storage limits applied to writes (PSTORE-R3, R5, R6).
const (
	MaxFingerprints    = 16
	MaxScopes          = 256
	MaxResourceTypes   = 64
	MaxResourceNames   = 256
	MaxDisplayNameSize = 128
)

// Identities is the identity view of a [Store]: an auth.IdentityStore, auth.ChangeNotifier and
// auth.PolicySource, plus the management calls the CLI uses. Resolution answers from the
// in-memory snapshot; management reads go to the database (PSTORE-R68). Every write method makes
// the writing process resolve with its effect before it returns, except when the reload after the
// commit fails, which Health then reports (PSTORE-R39). Safe for concurrent use.
type Identities struct{ s *Store }

var (
	_ auth.IdentityStore  = (*Identities)(nil)
	_ auth.ChangeNotifier = (*Identities)(nil)
	_ auth.PolicySource   = (*Identities)(nil)
)

// PeerRecord is a stored peer with its bookkeeping.
type PeerRecord struct {
	auth.PeerEntry
	Revision  int64     // +1 on every change
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
}

// ResolveFingerprint resolves a certificate fingerprint with core's compiled policy
// (CORE-R1010). It takes no lock, does no I/O and ignores ctx; the identity is a copy.
func (v *Identities) ResolveFingerprint(_ context.Context, fp string) (auth.Identity, bool) {
	return v.s.ident.Load().policy.ResolveFingerprint(fp)
}

// ResolveToken resolves a bearer token (peer token or API key) with core's compiled policy at
// Options.Clock() (CORE-R1011). It takes no lock, does no I/O and ignores ctx.
func (v *Identities) ResolveToken(_ context.Context, token auth.AuthToken) (auth.Identity, bool) {
	return v.s.ident.Load().policy.ResolveToken(token.Bytes(), v.s.now())
}

// Policy returns the compiled policy resolution uses now; never nil (an empty policy before the
// first load, after Close and while failed closed, PSTORE-R70).
func (v *Identities) Policy() *auth.Policy { return v.s.ident.Load().policy }

// Changed returns a channel closed at the next reload of the peers or api_keys channel, and when
// the store enters or leaves the failed-closed state (auth.ChangeNotifier).
func (v *Identities) Changed() <-chan struct{} { return v.s.changedChan() }

// writeMode selects the existence rule of a peer write (PSTORE-R38).
type writeMode int

const (
	modePut writeMode = iota
	modeCreate
	modeUpdate
)

// PutPeer inserts or replaces the whole peer entry, its fingerprint set included; fingerprints
// that stay keep their position (PSTORE-R38). Errors: STORE_INVALID, STORE_CONFLICT (a
// fingerprint or token hash held elsewhere), STORE_BUSY, STORE_READ_ONLY, STORE_CLOSED,
// STORE_UNAVAILABLE, STORE_BACKEND, or the context's error. After a nil return the writing
// process resolves with the new state, except when the reload after commit fails, which Health
// then reports (PSTORE-R39).
func (v *Identities) PutPeer(ctx context.Context, p auth.PeerEntry) error {
	_, err := v.write(ctx, p, modePut, "peer.put", "put peer "+p.PeerID)
	return err
}

// CreatePeer inserts a new peer; STORE_CONFLICT if the id exists. Otherwise as PutPeer.
func (v *Identities) CreatePeer(ctx context.Context, p auth.PeerEntry) (PeerRecord, error) {
	return v.write(ctx, p, modeCreate, "peer.create", "create peer "+p.PeerID)
}

// UpdatePeer replaces an existing peer; STORE_NOT_FOUND if absent, STORE_INVALID if p.PeerID
// differs from peerID (renaming would break the stable id). Otherwise as PutPeer.
func (v *Identities) UpdatePeer(ctx context.Context, peerID string, p auth.PeerEntry) error {
	if p.PeerID != peerID {
		return coreErr(alkerr.CodeStoreInvalid, fmt.Sprintf("update peer %s: the entry's peer_id %q differs; peers cannot be renamed", peerID, p.PeerID), nil)
	}
	_, err := v.write(ctx, p, modeUpdate, "peer.update", "update peer "+peerID)
	return err
}

func (v *Identities) write(ctx context.Context, p auth.PeerEntry, mode writeMode, action, what string) (PeerRecord, error) {
	s := v.s
	if err := s.writable(); err != nil {
		return PeerRecord{}, err
	}
	p, err := canonicalPeer(p)
	if err != nil {
		return PeerRecord{}, err
	}
	var rec PeerRecord
	err = s.inWriteTx(ctx, what, func(tx *sql.Tx) error {
		var err error
		rec, err = s.writePeerTx(ctx, tx, p, mode, action)
		return err
	})
	if err != nil {
		return PeerRecord{}, err
	}
	s.afterWrite(ctx)
	return rec, nil
}

// RemovePeer deletes a peer and its fingerprints; STORE_NOT_FOUND if absent.
func (v *Identities) RemovePeer(ctx context.Context, peerID string) error {
	s := v.s
	err := s.inWriteTx(ctx, "remove peer "+peerID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM peers WHERE peer_id = ?`, peerID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFoundPeer(peerID)
		}
		return s.audit(ctx, tx, "peer.remove", peerID, nil)
	})
	if err != nil {
		return err
	}
	s.afterWrite(ctx)
	return nil
}

// GetPeer reads one peer from the database (PSTORE-R68); found=false when absent.
func (v *Identities) GetPeer(ctx context.Context, peerID string) (auth.PeerEntry, bool, error) {
	r, err := v.PeerRecord(ctx, peerID)
	if errors.Is(err, errNotFoundSentinel) {
		return auth.PeerEntry{}, false, nil
	}
	if err != nil {
		return auth.PeerEntry{}, false, err
	}
	return r.PeerEntry, true, nil
}

// ListPeers reads every peer from the database, sorted by PeerID.
func (v *Identities) ListPeers(ctx context.Context) ([]auth.PeerEntry, error) {
	recs, err := v.PeerRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auth.PeerEntry, len(recs))
	for i, r := range recs {
		out[i] = r.PeerEntry
	}
	return out, nil
}

// PeerRecord reads one peer with its revision and times; STORE_NOT_FOUND if absent. A stored
// row that fails validation is STORE_SERIALIZATION.
func (v *Identities) PeerRecord(ctx context.Context, peerID string) (PeerRecord, error) {
	if err := v.s.usable(); err != nil {
		return PeerRecord{}, err
	}
	recs, err := readPeerRecords(ctx, v.s.reader, peerID)
	if err != nil {
		return PeerRecord{}, v.s.mapErr(ctx, "read peer "+peerID, err)
	}
	if len(recs) == 0 {
		return PeerRecord{}, notFoundPeer(peerID)
	}
	return recs[0], nil
}

// PeerRecords reads every peer with its revision and times, sorted by PeerID.
func (v *Identities) PeerRecords(ctx context.Context) ([]PeerRecord, error) {
	if err := v.s.usable(); err != nil {
		return nil, err
	}
	recs, err := readPeerRecords(ctx, v.s.reader, "")
	if err != nil {
		return nil, v.s.mapErr(ctx, "list peers", err)
	}
	return recs, nil
}

// ModifyPeer runs a read-modify-write of one peer in ONE write transaction (PSTORE-R72): fn gets
// a deep copy of the current entry and may change anything but PeerID. STORE_NOT_FOUND if absent
// (fn is not called); an error from fn is returned unchanged and nothing is written. fn runs
// while the write lock is held: it must be quick and do no I/O. Every successful call counts as
// a change (revision +1, one audit row).
func (v *Identities) ModifyPeer(ctx context.Context, peerID string, fn func(*auth.PeerEntry) error) (PeerRecord, error) {
	s := v.s
	var rec PeerRecord
	err := s.inWriteTx(ctx, "modify peer "+peerID, func(tx *sql.Tx) error {
		recs, err := readPeerRecords(ctx, tx, peerID)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return notFoundPeer(peerID)
		}
		p := recs[0].PeerEntry.Clone()
		if err := fn(&p); err != nil {
			return userErr{err}
		}
		if p.PeerID != peerID {
			return coreErr(alkerr.CodeStoreInvalid, fmt.Sprintf("modify peer %s: peer_id cannot be changed", peerID), nil)
		}
		p, err = canonicalPeer(p)
		if err != nil {
			return err
		}
		rec, err = s.writePeerTx(ctx, tx, p, modeUpdate, "peer.update")
		return err
	})
	if err != nil {
		return PeerRecord{}, err
	}
	s.afterWrite(ctx)
	return rec, nil
}

// NewPeerToken gives an existing peer a fresh peer token (alkp_ + 40 characters), replacing its
// token hash in one transaction (PSTORE-R41, R50). The token is returned once; only its hash is
// stored.
func (v *Identities) NewPeerToken(ctx context.Context, peerID string) (secret.Secret, PeerRecord, error) {
	s := v.s
	if err := s.writable(); err != nil {
		return secret.Secret{}, PeerRecord{}, err
	}
	tok, hash, err := s.newPeerToken()
	if err != nil {
		return secret.Secret{}, PeerRecord{}, err
	}
	var rec PeerRecord
	err = s.inWriteTx(ctx, "new token for peer "+peerID, func(tx *sql.Tx) error {
		recs, err := readPeerRecords(ctx, tx, peerID)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return notFoundPeer(peerID)
		}
		p := recs[0].PeerEntry.Clone()
		p.AuthTokenHash = hash
		rec, err = s.writePeerTx(ctx, tx, p, modeUpdate, "peer.token")
		return err
	})
	if err != nil {
		tok.Destroy()
		return secret.Secret{}, PeerRecord{}, err
	}
	s.afterWrite(ctx)
	return tok, rec, nil
}

// CreatePeerWithToken creates the peer and gives it a fresh peer token in one transaction
// (PSTORE-R71): a failure leaves neither behind. p.AuthTokenHash must be empty (STORE_INVALID).
func (v *Identities) CreatePeerWithToken(ctx context.Context, p auth.PeerEntry) (secret.Secret, PeerRecord, error) {
	s := v.s
	if p.AuthTokenHash != "" {
		return secret.Secret{}, PeerRecord{}, coreErr(alkerr.CodeStoreInvalid, "create peer "+p.PeerID+": auth_token_hash must be empty; the token is generated", nil)
	}
	if err := s.writable(); err != nil {
		return secret.Secret{}, PeerRecord{}, err
	}
	tok, hash, err := s.newPeerToken()
	if err != nil {
		return secret.Secret{}, PeerRecord{}, err
	}
	p.AuthTokenHash = hash
	rec, err := v.write(ctx, p, modeCreate, "peer.create", "create peer "+p.PeerID)
	if err != nil {
		tok.Destroy()
		return secret.Secret{}, PeerRecord{}, err
	}
	return tok, rec, nil
}

func (s *Store) newPeerToken() (secret.Secret, string, error) {
	tok, err := auth.GenerateToken("alkp_", s.opts.Rand)
	if err != nil {
		return secret.Secret{}, "", coreErr(alkerr.CodeStoreBackend, "generate a peer token", err)
	}
	return tok, auth.HashToken([]byte(tok.Expose())), nil
}

var errNotFoundSentinel = &alkerr.Error{Code: alkerr.CodeStoreNotFound}

func notFoundPeer(id string) error {
	return coreErr(alkerr.CodeStoreNotFound, "peer "+id+" does not exist", nil)
}

// canonicalPeer validates an entry for writing and returns its canonical form: core's rules
// (CORE-R1001..R1005 through auth.Compile) plus the storage limits (PSTORE-R2..R6, R9).
func canonicalPeer(p auth.PeerEntry) (auth.PeerEntry, error) {
	p = p.Clone()
	bad := func(format string, args ...any) (auth.PeerEntry, error) {
		return auth.PeerEntry{}, coreErr(alkerr.CodeStoreInvalid, "peer "+p.PeerID+": "+fmt.Sprintf(format, args...), nil)
	}
	fps := make([]string, 0, len(p.Fingerprints))
	for i, fp := range p.Fingerprints {
		c, err := fingerprint.Parse(fp)
		if err != nil {
			return bad("fingerprints[%d]: %s", i, errMessage(err))
		}
		if !slices.Contains(fps, c) {
			fps = append(fps, c)
		}
	}
	p.Fingerprints = fps
	if len(fps) > MaxFingerprints {
		return bad("%d fingerprints, at most %d", len(fps), MaxFingerprints)
	}
	if strings.HasPrefix(p.AuthTokenHash, "alk") {
		return bad("auth_token_hash looks like a raw token; a hash (sha256:<hex>) is expected")
	}
	p.Scopes = dedupe(p.Scopes)
	if len(p.Scopes) > MaxScopes {
		return bad("%d scopes, at most %d", len(p.Scopes), MaxScopes)
	}
	if len(p.Resources) > MaxResourceTypes {
		return bad("%d resource types, at most %d", len(p.Resources), MaxResourceTypes)
	}
	for t, names := range p.Resources {
		p.Resources[t] = dedupe(names)
		if len(p.Resources[t]) > MaxResourceNames {
			return bad("resources[%s]: %d names, at most %d", t, len(names), MaxResourceNames)
		}
	}
	if len(p.DisplayName) > MaxDisplayNameSize || !utf8.ValidString(p.DisplayName) ||
		strings.ContainsFunc(p.DisplayName, unicode.IsControl) {
		return bad("display_name must be at most %d bytes of UTF-8 without control characters", MaxDisplayNameSize)
	}
	p = normalizePeer(p)
	if _, err := auth.Compile(auth.AuthPolicy{Peers: []auth.PeerEntry{p}}); err != nil {
		return auth.PeerEntry{}, coreErr(alkerr.CodeStoreInvalid, errMessage(err), err)
	}
	return p, nil
}

// normalizePeer applies the shapes of PSTORE-R69: Fingerprints and Scopes never nil, Resources
// nil when empty, Enabled nil for an enabled peer.
func normalizePeer(p auth.PeerEntry) auth.PeerEntry {
	if p.Fingerprints == nil {
		p.Fingerprints = []string{}
	}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	if len(p.Resources) == 0 {
		p.Resources = nil
	}
	if p.Enabled != nil && *p.Enabled {
		p.Enabled = nil
	} else if p.Enabled != nil {
		p.Enabled = new(bool)
	}
	return p
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, x := range in {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
