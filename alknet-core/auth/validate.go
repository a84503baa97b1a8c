package auth

import (
	"slices"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/fingerprint"
)

// Problem is one policy validation failure. Path is built from JSON names and rooted at
// the policy, e.g. "peers[2].fingerprints[0]" (CORE-R1007, CORE-R1008). Message never
// contains a token hash.
type Problem struct {
	Path    string
	Message string
}

// String returns "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// Limits of §10.3.
const (
	// MaxPeerIDLen is the longest allowed peer id (CORE-R1001).
	MaxPeerIDLen = 63
	// MaxScopeLen is the longest allowed scope, resource type or resource name in bytes
	// (CORE-R1005).
	MaxScopeLen = 128
	// APIKeyPrefix starts every API key (CORE-R1006, CORE-R1020).
	APIKeyPrefix = "alk_"
	// APIKeyPrefixLen is the length of the lookup prefix of an API key: "alk_" and four
	// more characters.
	APIKeyPrefixLen = 8
)

// ValidPeerID reports whether id satisfies CORE-R1001, ^[a-z0-9][a-z0-9.-]{0,62}$: 1–63
// characters of [a-z0-9.-] starting with a letter or digit (never an underscore, so no
// peer id can equal an API-key identity).
func ValidPeerID(id string) bool {
	if len(id) == 0 || len(id) > MaxPeerIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidScope reports whether s is 1–128 bytes of printable ASCII without spaces
// (CORE-R1005). The same rule applies to resource types and names.
func ValidScope(s string) bool {
	if len(s) == 0 || len(s) > MaxScopeLen {
		return false
	}
	return printable(s)
}

// printable reports whether every byte of s is in 0x21–0x7E.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validHash reports whether h is "sha256:" followed by 64 lowercase hex digits.
func validHash(h string) bool {
	rest, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(rest) != 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Validate checks p against CORE-R1001..R1007 and returns every problem, in document
// order; nil means valid. It is the one implementation shared by configuration loading,
// reloads, IdentityStore adapters and the CLI.
func Validate(p AuthPolicy) []Problem {
	_, problems := normalize(p)
	return problems
}

// normalize validates p and returns a deep copy with fingerprints in canonical form and
// duplicate scopes and resource names removed.
func normalize(p AuthPolicy) (AuthPolicy, []Problem) {
	var probs []Problem
	add := func(path, msg string) { probs = append(probs, Problem{Path: path, Message: msg}) }

	out := p.Clone()
	peerIDs := make(map[string]int, len(p.Peers))     // peer id -> first peer index
	fps := make(map[string]fpUse, len(p.Peers))       // canonical fingerprint -> first use
	tokenHashes := make(map[string]int, len(p.Peers)) // peer token hash -> first peer index
	keyHashes := make(map[string]int, len(p.APIKeys)) // API key hash -> first key index
	for i, k := range p.APIKeys {                     // collected first: peers are checked against them
		if _, dup := keyHashes[k.Hash]; !dup && validHash(k.Hash) {
			keyHashes[k.Hash] = i
		}
	}

	for i := range out.Peers {
		e := &out.Peers[i]
		base := "peers[" + strconv.Itoa(i) + "]"
		switch {
		case !ValidPeerID(e.PeerID):
			add(base+".peer_id", "must be 1-63 characters of [a-z0-9.-] starting with a letter or digit")
		default:
			if j, dup := peerIDs[e.PeerID]; dup {
				add(base+".peer_id", "duplicate peer id "+strconv.Quote(e.PeerID)+" (also peers["+strconv.Itoa(j)+"])")
			} else {
				peerIDs[e.PeerID] = i
			}
		}
		for k, raw := range e.Fingerprints {
			fp, err := fingerprint.Parse(raw)
			if err != nil {
				add(fpUse{i, k}.path(), messageOf(err))
				continue
			}
			e.Fingerprints[k] = fp
			if first, dup := fps[fp]; dup {
				add(fpUse{i, k}.path(), "fingerprint "+fp+" is already used by "+first.path())
				continue
			}
			fps[fp] = fpUse{i, k}
		}
		if e.AuthTokenHash != "" {
			path := base + ".auth_token_hash"
			switch {
			case !validHash(e.AuthTokenHash):
				add(path, `must be "sha256:" followed by 64 lowercase hex digits`)
			default:
				if j, dup := tokenHashes[e.AuthTokenHash]; dup {
					add(path, "same token hash as peers["+strconv.Itoa(j)+"]")
				} else {
					tokenHashes[e.AuthTokenHash] = i
				}
				if j, clash := keyHashes[e.AuthTokenHash]; clash {
					add(path, "same token hash as api_keys["+strconv.Itoa(j)+"]")
				}
			}
		}
		if e.IsEnabled() && len(e.Fingerprints) == 0 && e.AuthTokenHash == "" {
			add(base, "an enabled peer needs at least one fingerprint or an auth_token_hash")
		}
		e.Scopes = checkScopes(e.Scopes, base, add)
		e.Resources = checkResources(e.Resources, base, add)
	}

	prefixes := map[string]int{}
	for i := range out.APIKeys {
		k := &out.APIKeys[i]
		base := "api_keys[" + strconv.Itoa(i) + "]"
		switch {
		case len(k.Prefix) != APIKeyPrefixLen || !printable(k.Prefix) || !strings.HasPrefix(k.Prefix, APIKeyPrefix):
			add(base+".prefix", `must be exactly 8 printable ASCII characters starting with "alk_"`)
		default:
			if j, dup := prefixes[k.Prefix]; dup {
				add(base+".prefix", "duplicate prefix "+strconv.Quote(k.Prefix)+" (also api_keys["+strconv.Itoa(j)+"])")
			} else {
				prefixes[k.Prefix] = i
			}
		}
		if !validHash(k.Hash) {
			add(base+".hash", `must be "sha256:" followed by 64 lowercase hex digits`)
		} else if j := keyHashes[k.Hash]; j != i {
			add(base+".hash", "same hash as api_keys["+strconv.Itoa(j)+"]")
		}
		if k.ExpiresAt != nil && *k.ExpiresAt < 0 {
			add(base+".expires_at", "must not be negative")
		}
		k.Scopes = checkScopes(k.Scopes, base, add)
	}
	return out, probs
}

// fpUse locates a fingerprint: peers[peer].fingerprints[idx].
type fpUse struct{ peer, idx int }

func (u fpUse) path() string {
	return "peers[" + strconv.Itoa(u.peer) + "].fingerprints[" + strconv.Itoa(u.idx) + "]"
}

// checkScopes reports invalid scopes under base+".scopes" and returns the list without
// duplicates.
func checkScopes(scopes []string, base string, add func(path, msg string)) []string {
	for k, s := range scopes {
		if !ValidScope(s) {
			add(base+".scopes["+strconv.Itoa(k)+"]", "must be 1-128 bytes of printable ASCII without spaces")
		}
	}
	return dedupe(scopes)
}

// checkResources reports invalid resource types and names under base+".resources" and
// removes duplicate names.
func checkResources(res map[string][]string, base string, add func(path, msg string)) map[string][]string {
	types := make([]string, 0, len(res))
	for t := range res {
		types = append(types, t)
	}
	slices.Sort(types) // map order is random; report in a stable order
	for _, t := range types {
		path := func() string { return base + ".resources." + t }
		if !ValidScope(t) {
			path = func() string { return base + ".resources[" + strconv.Quote(t) + "]" }
			add(path(), "resource type must be 1-128 bytes of printable ASCII without spaces")
		}
		for k, n := range res[t] {
			if !ValidScope(n) {
				add(path()+"["+strconv.Itoa(k)+"]", "resource name must be 1-128 bytes of printable ASCII without spaces")
			}
		}
		res[t] = dedupe(res[t])
	}
	return res
}

// dedupe removes repeated strings, keeping the first occurrence of each.
func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	seen := make(map[string]struct{}, len(s))
	out := s[:0]
	for _, v := range s {
		if _, ok := seen[v]; ok {
			continue
		}
		seen[v] = struct{}{}
		out = append(out, v)
	}
	return out
}

// messageOf returns the operator message of a coded error, or its text.
func messageOf(err error) string {
	if e, ok := err.(*alkerr.Error); ok {
		return e.Message
	}
	return err.Error()
}

// problemsError turns problems into one CONFIG_INVALID error listing every one.
func problemsError(probs []Problem) error {
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.String()
	}
	return &alkerr.Error{Code: alkerr.CodeConfigInvalid, Message: "invalid auth policy: " + strings.Join(parts, "; ")}
}

// canonicalFingerprint is fingerprint.Parse, named for the resolution path.
func canonicalFingerprint(fp string) (string, error) { return fingerprint.Parse(fp) }
