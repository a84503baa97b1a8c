// Package store is the storage boundary of alknet-core (core.md §12): the
// CredentialStore repository interface for encrypted outbound credentials, its in-memory
// default, and EncryptedData, the mirror of the vault's encrypted blob.
//
// Core never decrypts a blob and has no database dependency; persistent adapters (the
// SQLite peer store) implement CredentialStore in their own modules (CORE-R1221).
package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// Size rules of EncryptedData.Validate (CORE-R1202).
const (
	// IVLen is the AES-GCM nonce length.
	IVLen = 12
	// MinDataLen is the GCM tag length, the least ciphertext can hold.
	MinDataLen = 16
	// MaxSaltLen is the longest salt kept.
	MaxSaltLen = 64
)

// EncryptedData is the AES-256-GCM blob the vault writes and the credential store keeps
// without decrypting it. Its JSON form is shared byte for byte with the vault
// (CORE-R1201): key_version as a number and salt, iv and data as standard padded base64
// strings, for example
//
//	{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}
//
// The blob is not secret, but it is never logged: logs carry the provider name and the
// key version only (CORE-R1203).
type EncryptedData struct {
	KeyVersion uint32 `json:"key_version"`
	Salt       []byte `json:"salt"` // kept for format compatibility; unused by key derivation
	IV         []byte `json:"iv"`   // 12 bytes (AES-GCM nonce)
	Data       []byte `json:"data"` // ciphertext with the 16-byte GCM tag appended
}

// Validate checks the sizes of CORE-R1202: key_version ≥ 1, a 12-byte IV, at least 16
// bytes of data and at most 64 bytes of salt. Every problem is listed in one
// STORE_INVALID error. The meaning of versions and the salt is the vault's business.
func (e EncryptedData) Validate() error {
	var probs []string
	if e.KeyVersion < 1 {
		probs = append(probs, "key_version: must be at least 1")
	}
	if len(e.IV) != IVLen {
		probs = append(probs, "iv: must be 12 bytes, got "+strconv.Itoa(len(e.IV)))
	}
	if len(e.Data) < MinDataLen {
		probs = append(probs, "data: must be at least 16 bytes, got "+strconv.Itoa(len(e.Data)))
	}
	if len(e.Salt) > MaxSaltLen {
		probs = append(probs, "salt: must be at most 64 bytes, got "+strconv.Itoa(len(e.Salt)))
	}
	if len(probs) > 0 {
		return alkerr.New(alkerr.CodeStoreInvalid, "encrypted data: "+strings.Join(probs, "; "))
	}
	return nil
}

// Clone returns a deep copy of e.
func (e EncryptedData) Clone() EncryptedData {
	return EncryptedData{
		KeyVersion: e.KeyVersion,
		Salt:       bytes.Clone(e.Salt),
		IV:         bytes.Clone(e.IV),
		Data:       bytes.Clone(e.Data),
	}
}

// LogValue logs the key version and sizes only, never the salt, IV or ciphertext
// (CORE-R1203).
func (e EncryptedData) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("key_version", uint64(e.KeyVersion)),
		slog.Int("data_len", len(e.Data)),
	)
}

// MarshalJSON encodes e in the vault's form, with "" (never null) for a nil slice.
func (e EncryptedData) MarshalJSON() ([]byte, error) {
	type wire struct {
		KeyVersion uint32 `json:"key_version"`
		Salt       string `json:"salt"`
		IV         string `json:"iv"`
		Data       string `json:"data"`
	}
	enc := base64.StdEncoding
	return json.Marshal(wire{
		KeyVersion: e.KeyVersion,
		Salt:       enc.EncodeToString(e.Salt),
		IV:         enc.EncodeToString(e.IV),
		Data:       enc.EncodeToString(e.Data),
	})
}

// serialization returns a STORE_SERIALIZATION error; msg never holds blob contents.
func serialization(msg string) error {
	return alkerr.New(alkerr.CodeStoreSerialization, "encrypted data: "+msg)
}

// UnmarshalJSON decodes the vault's form by the rules of CORE-R1201 and CORE-R1204:
// exactly one object; the four field names matched exactly and all required; no field
// twice; unknown fields ignored; null is a wrong type; key_version a plain decimal
// integer within uint32; salt, iv and data strict standard base64 without CR or LF. Any
// failure is STORE_SERIALIZATION. Sizes are Validate's job.
func (e *EncryptedData) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return serialization("not a JSON object")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return serialization("not a JSON object")
	}
	var out EncryptedData
	var seen [4]bool // key_version, salt, iv, data
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return serialization("malformed object")
		}
		key, _ := tok.(string)
		idx := fieldIndex(key)
		if idx < 0 {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return serialization("malformed value of an unknown field")
			}
			continue
		}
		if seen[idx] {
			return serialization("field " + key + " given twice")
		}
		seen[idx] = true
		val, err := dec.Token()
		if err != nil {
			return serialization("malformed value of field " + key)
		}
		if idx == 0 {
			n, ok := val.(json.Number)
			if !ok {
				return serialization("key_version must be a number")
			}
			v, err := strconv.ParseUint(string(n), 10, 32)
			if err != nil {
				return serialization("key_version must be a decimal integer from 0 to 4294967295")
			}
			out.KeyVersion = uint32(v)
			continue
		}
		s, ok := val.(string)
		if !ok {
			return serialization(key + " must be a base64 string")
		}
		if strings.ContainsAny(s, "\r\n") {
			return serialization(key + " must not contain line breaks")
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return serialization(key + " is not valid standard base64")
		}
		if len(raw) == 0 {
			raw = nil
		}
		switch idx {
		case 1:
			out.Salt = raw
		case 2:
			out.IV = raw
		case 3:
			out.Data = raw
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return serialization("malformed object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return serialization("data after the object")
	}
	for i, name := range fieldNames {
		if !seen[i] {
			return serialization("field " + name + " is missing")
		}
	}
	*e = out
	return nil
}

var fieldNames = [4]string{"key_version", "salt", "iv", "data"}

func fieldIndex(key string) int {
	for i, n := range fieldNames {
		if key == n {
			return i
		}
	}
	return -1
}
