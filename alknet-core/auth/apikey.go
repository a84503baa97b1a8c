package auth

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/secret"
)

const (
	// MaxAPIKeyAttempts bounds the candidates GenerateAPIKey draws before it gives up
	// with ErrPrefixExhausted (CORE-R1023).
	MaxAPIKeyAttempts = 16

	// tokenChars is the number of random characters after a token's prefix (CORE-R1020).
	tokenChars = 40
	alphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// rejectFrom is 4 × 62: bytes at or above it are redrawn so every character is
	// uniform (CORE-R1024).
	rejectFrom = 4 * len(alphabet)
)

// GenerateToken returns prefix followed by 40 characters of [0-9A-Za-z] drawn from r by
// rejection sampling (CORE-R1024, CORE-R1025): one byte at a time, bytes ≥ 248 are
// rejected, the rest taken modulo 62. A nil r means crypto/rand.Reader. The prefix is
// copied as given; it is public and not validated here. On a read error it returns the
// wrapped error and a zero Secret, never a partial token.
func GenerateToken(prefix string, r io.Reader) (secret.Secret, error) {
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, len(prefix)+tokenChars)
	defer clear(buf)
	copy(buf, prefix)
	var one [1]byte
	for i := len(prefix); i < len(buf); {
		if _, err := io.ReadFull(r, one[:]); err != nil {
			return secret.Secret{}, fmt.Errorf("generate token: read random source: %w", err)
		}
		if int(one[0]) >= rejectFrom {
			continue
		}
		buf[i] = alphabet[int(one[0])%len(alphabet)]
		i++
	}
	one[0] = 0
	return secret.FromBytes(buf), nil
}

// APIKeySpec describes a key to issue. Rand and Taken are the test seams.
type APIKeySpec struct {
	Scopes      []string
	Description string
	ExpiresAt   *int64                            // Unix seconds; nil = never
	Taken       func(prefix string) (bool, error) // nil = no prefix is taken; an error aborts
	Rand        io.Reader                         // nil = crypto/rand.Reader
}

// GenerateAPIKey issues a new API key (CORE-R1020..R1024): "alk_" and 40 random
// characters. It returns the token once, as a redacting Secret, and the entry to persist,
// which holds only the token's hash. Candidates whose prefix Taken reports as taken are
// discarded, at most MaxAPIKeyAttempts in total, after which it fails with
// ErrPrefixExhausted; an error from Taken or from the random source is returned at once.
// The entry is validated (CORE-R1005, CORE-R1006) before it is returned.
func GenerateAPIKey(s APIKeySpec) (token secret.Secret, entry APIKeyEntry, err error) {
	entry = APIKeyEntry{
		Scopes:      slices.Clone(s.Scopes),
		Description: s.Description,
	}
	if s.ExpiresAt != nil {
		e := *s.ExpiresAt
		entry.ExpiresAt = &e
	}
	for range MaxAPIKeyAttempts {
		tok, err := GenerateToken(APIKeyPrefix, s.Rand)
		if err != nil {
			return secret.Secret{}, APIKeyEntry{}, err
		}
		raw := tok.Bytes()
		prefix := string(raw[:APIKeyPrefixLen])
		if s.Taken != nil {
			taken, err := s.Taken(prefix)
			if err != nil {
				clear(raw)
				tok.Destroy()
				return secret.Secret{}, APIKeyEntry{}, fmt.Errorf("generate api key: check prefix %s: %w", prefix, err)
			}
			if taken {
				clear(raw)
				tok.Destroy()
				continue
			}
		}
		entry.Prefix = prefix
		entry.Hash = HashToken(raw)
		clear(raw)
		if probs := Validate(AuthPolicy{APIKeys: []APIKeyEntry{entry}}); len(probs) > 0 {
			tok.Destroy()
			return secret.Secret{}, APIKeyEntry{}, problemsError(probs)
		}
		return tok, entry, nil
	}
	return secret.Secret{}, APIKeyEntry{}, alkerr.New(alkerr.CodeAPIKeyPrefixExhausted,
		fmt.Sprintf("no free API key prefix in %d attempts", MaxAPIKeyAttempts))
}
