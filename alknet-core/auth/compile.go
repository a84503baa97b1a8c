package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"time"
)

// MaxTokenLen is the longest token ResolveToken looks at; longer tokens are not
// recognized (CORE-R1011).
const MaxTokenLen = 4096

// Policy is a validated, indexed, immutable AuthPolicy (§10.4). It is the one resolution
// algorithm shared by ConfigIdentityProvider and every IdentityStore adapter
// (CORE-R922). A nil *Policy recognizes nothing. It is safe for concurrent use.
type Policy struct {
	src         AuthPolicy          // normalized deep copy; never modified
	byFP        map[string]*peerRec // canonical fingerprint -> peer
	byTokenHash map[string]*peerRec // "sha256:<hex>" -> peer
	byPrefix    map[string]*keyRec  // 8-byte prefix -> API key
	peers       map[string]*peerRec // peer id -> peer
}

type peerRec struct {
	enabled bool
	id      Identity // template; handed out as clones
}

type keyRec struct {
	hash      string
	hashBytes []byte // hash as bytes, for the constant-time compare without a conversion
	expiresAt *int64
	id        Identity // template; handed out as clones
}

// Compile validates p (CORE-R1001..R1007) and indexes it. On any problem it returns one
// CONFIG_INVALID error listing every problem with its field path; p is never modified.
func Compile(p AuthPolicy) (*Policy, error) {
	src, probs := normalize(p)
	if len(probs) > 0 {
		return nil, problemsError(probs)
	}
	c := &Policy{
		src:         src,
		byFP:        map[string]*peerRec{},
		byTokenHash: map[string]*peerRec{},
		byPrefix:    make(map[string]*keyRec, len(src.APIKeys)),
		peers:       make(map[string]*peerRec, len(src.Peers)),
	}
	for _, e := range src.Peers {
		rec := &peerRec{enabled: e.IsEnabled(), id: Identity{
			ID:        e.PeerID,
			Scopes:    nonNil(e.Scopes),
			Resources: cloneResources(e.Resources),
			Origin:    OriginPeer,
		}}
		if rec.id.Resources == nil {
			rec.id.Resources = map[string][]string{}
		}
		c.peers[e.PeerID] = rec
		for _, fp := range e.Fingerprints {
			c.byFP[fp] = rec
		}
		if e.AuthTokenHash != "" {
			c.byTokenHash[e.AuthTokenHash] = rec
		}
	}
	for _, k := range src.APIKeys {
		c.byPrefix[k.Prefix] = &keyRec{hash: k.Hash, hashBytes: []byte(k.Hash), expiresAt: k.ExpiresAt, id: Identity{
			ID:        k.Prefix,
			Scopes:    nonNil(k.Scopes),
			Resources: map[string][]string{}, // CORE-R1012
			Origin:    OriginAPIKey,
		}}
	}
	return c, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Policy returns p itself, so a fixed compiled policy is a PolicySource.
func (p *Policy) Policy() *Policy { return p }

// Source returns a deep copy of the validated policy, with fingerprints in canonical
// form and duplicate scopes removed.
func (p *Policy) Source() AuthPolicy {
	if p == nil {
		return AuthPolicy{}
	}
	return p.src.Clone()
}

// ResolveFingerprint resolves a TLS certificate fingerprint (CORE-R1010). Input is
// canonicalized first; unparsable, unknown and disabled-peer fingerprints are not
// recognized. The identity's ID is the peer_id, never the fingerprint.
func (p *Policy) ResolveFingerprint(fp string) (Identity, bool) {
	if p == nil {
		return Identity{}, false
	}
	rec, ok := p.byFP[fp]
	if !ok {
		canon, err := canonicalFingerprint(fp)
		if err != nil {
			return Identity{}, false
		}
		rec, ok = p.byFP[canon]
	}
	if !ok || !rec.enabled {
		return Identity{}, false
	}
	return rec.id.Clone(), true
}

// ResolveToken resolves a bearer token received from a protocol (CORE-R1011): first as a
// peer's auth_token_hash, then as an API key looked up by its 8-byte prefix and compared
// in constant time, valid while now is before its expires_at. The bytes are used exactly
// as received. Anything else is not recognized.
func (p *Policy) ResolveToken(token []byte, now time.Time) (Identity, bool) {
	if p == nil || len(token) == 0 || len(token) > MaxTokenLen {
		return Identity{}, false
	}
	var h [tokenHashLen]byte
	hashTokenInto(&h, token)
	if rec, ok := p.byTokenHash[string(h[:])]; ok { // the conversion does not allocate
		if !rec.enabled {
			return Identity{}, false
		}
		return rec.id.Clone(), true
	}
	if len(token) < APIKeyPrefixLen || string(token[:len(APIKeyPrefix)]) != APIKeyPrefix {
		return Identity{}, false
	}
	k, ok := p.byPrefix[string(token[:APIKeyPrefixLen])]
	if !ok || subtle.ConstantTimeCompare(k.hashBytes, h[:]) != 1 {
		return Identity{}, false
	}
	if k.expiresAt != nil && now.Unix() >= *k.expiresAt {
		return Identity{}, false
	}
	return k.id.Clone(), true
}

// live returns the identities that can authenticate under p at t, keyed by ID, with the
// API key hashes that authenticate them.
func (p *Policy) live(t time.Time) map[string]liveID {
	out := map[string]liveID{}
	if p == nil {
		return out
	}
	for id, rec := range p.peers {
		if rec.enabled {
			out[id] = liveID{id: rec.id}
		}
	}
	for prefix, k := range p.byPrefix {
		if k.expiresAt == nil || t.Unix() < *k.expiresAt {
			out[prefix] = liveID{id: k.id, keyHash: k.hash}
		}
	}
	return out
}

type liveID struct {
	id      Identity
	keyHash string // API keys only
}

// RevokedIDs lists the identity ids that could authenticate under old at oldAt and can no
// longer authenticate with the same grants under new at newAt (CORE-R1014): peers removed,
// disabled or with changed scopes or resources (CORE-R1015), and API keys removed,
// expired, re-issued under the same prefix with another hash, or with changed scopes. The
// result is sorted and has no duplicates; a nil old yields nothing.
func RevokedIDs(old *Policy, oldAt time.Time, new *Policy, newAt time.Time) []string {
	if old == nil {
		return []string{}
	}
	before, after := old.live(oldAt), new.live(newAt)
	out := []string{}
	for id, b := range before {
		a, ok := after[id]
		if !ok || a.keyHash != b.keyHash || !a.id.SameGrants(b.id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// HashToken returns "sha256:" + lowercase hex of SHA-256(token), the one form used for
// APIKeyEntry.Hash and PeerEntry.AuthTokenHash (CORE-R1022).
func HashToken(token []byte) string {
	var h [tokenHashLen]byte
	hashTokenInto(&h, token)
	return string(h[:])
}

// tokenHashLen is the length of "sha256:" followed by 64 lowercase hex digits.
const tokenHashLen = len("sha256:") + 2*sha256.Size

// hashTokenInto writes the [HashToken] form of token into dst without allocating.
func hashTokenInto(dst *[tokenHashLen]byte, token []byte) {
	sum := sha256.Sum256(token)
	copy(dst[:], "sha256:")
	hex.Encode(dst[len("sha256:"):], sum[:])
}
