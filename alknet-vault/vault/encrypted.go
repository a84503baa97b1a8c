package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/alknet/alknet/alknet-vault/internal/aead"
	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
)

// Size limits of the encrypted format (VAULT-R52, VAULT-R54).
const (
	// MaxPlaintextLen is the largest plaintext Encrypt accepts (64 KiB).
	MaxPlaintextLen = 64 << 10
	// MaxEncryptedDataJSON is the largest JSON document ParseEncryptedData
	// parses (96 KiB).
	MaxEncryptedDataJSON = 96 << 10
	saltLen              = 32
)

// EncryptedData is an encrypted credential (VAULT-R51): AES-256-GCM under
// the key of KeyVersion, stored as standard base64 strings. The JSON form is
// a one-way door shared byte for byte with alknet-core's mirror type
// (CORE-R1201): exactly the keys key_version, salt, iv and data.
// EncryptedData is ciphertext, not secret, but it is not logged either.
type EncryptedData struct {
	KeyVersion uint32 `json:"key_version"` // selects the key (VAULT-R60)
	Salt       string `json:"salt"`        // base64 of 32 random bytes; never used for keys (VAULT-R55)
	IV         string `json:"iv"`          // base64 of the 12-byte GCM nonce
	Data       string `json:"data"`        // base64 of ciphertext || 16-byte tag
}

func malformed(detail string) error {
	return vaulterr.New(vaulterr.CodeMalformedCiphertext, "malformed ciphertext: "+detail)
}

// ParseEncryptedData decodes a JSON blob by the VAULT-R52 rules: input over
// 96 KiB is refused unparsed; field names are exact and case-sensitive;
// unknown fields are ignored; a missing, duplicated, null or mistyped field,
// a key_version that is not a plain decimal uint32, strict-base64 violations
// (including embedded CR or LF), an iv that is not 12 bytes and data outside
// 16..64 KiB+16 bytes are all VAULT_MALFORMED_CIPHERTEXT, as is trailing
// data and any JSON syntax error. Every key_version parses; whether it is
// usable is Decrypt's question.
func ParseEncryptedData(b []byte) (EncryptedData, error) {
	if len(b) > MaxEncryptedDataJSON {
		return EncryptedData{}, malformed("input is longer than " + strconv.Itoa(MaxEncryptedDataJSON) + " bytes")
	}
	var e EncryptedData
	if err := e.decode(b); err != nil {
		return EncryptedData{}, err
	}
	return e, nil
}

// UnmarshalJSON applies the rules of [ParseEncryptedData] except the size
// cap, so json.Unmarshal into an EncryptedData (also inside a larger
// document) is just as strict. On error e is left unchanged.
func (e *EncryptedData) UnmarshalJSON(b []byte) error {
	var out EncryptedData
	if err := out.decode(b); err != nil {
		return err
	}
	*e = out
	return nil
}

// decode walks one JSON object with json.Decoder tokens, which gives exact
// field names and reveals duplicates.
func (e *EncryptedData) decode(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return malformed("not a JSON object")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return malformed("not a JSON object")
	}
	var seenVersion, seenSalt, seenIV, seenData bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed("invalid JSON")
		}
		name, ok := tok.(string)
		if !ok {
			return malformed("invalid JSON")
		}
		var seen *bool
		var dst *string
		switch name {
		case "key_version":
			seen = &seenVersion
		case "salt":
			seen, dst = &seenSalt, &e.Salt
		case "iv":
			seen, dst = &seenIV, &e.IV
		case "data":
			seen, dst = &seenData, &e.Data
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return malformed("invalid JSON")
			}
			continue
		}
		if *seen {
			return malformed("field " + name + " given twice")
		}
		*seen = true
		val, err := dec.Token()
		if err != nil {
			return malformed("invalid JSON")
		}
		if d, ok := val.(json.Delim); ok && (d == '{' || d == '[') {
			return malformed("field " + name + " has the wrong type")
		}
		if dst == nil {
			num, ok := val.(json.Number)
			if !ok {
				return malformed("field key_version is not a number")
			}
			v, err := strconv.ParseUint(num.String(), 10, 32)
			if err != nil {
				return malformed("field key_version is not a decimal integer in the uint32 range")
			}
			e.KeyVersion = uint32(v)
			continue
		}
		s, ok := val.(string)
		if !ok {
			return malformed("field " + name + " is not a string")
		}
		*dst = s
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return malformed("invalid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("trailing data after the object")
	}
	switch {
	case !seenVersion:
		return malformed("missing field key_version")
	case !seenSalt:
		return malformed("missing field salt")
	case !seenIV:
		return malformed("missing field iv")
	case !seenData:
		return malformed("missing field data")
	}
	_, _, err = e.fields()
	return err
}

// strictB64 decodes standard base64 with canonical padding bits and no
// embedded CR or LF (VAULT-R52).
func strictB64(name, s string) ([]byte, error) {
	if strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return nil, malformed("field " + name + " is not strict base64")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, malformed("field " + name + " is not strict base64")
	}
	return b, nil
}

// fields checks iv and data (VAULT-R52) and returns them decoded. The salt
// is not interpreted.
func (e EncryptedData) fields() (iv, data []byte, err error) {
	if len(e.IV) != base64.StdEncoding.EncodedLen(aead.NonceSize) {
		return nil, nil, malformed("iv must be " + strconv.Itoa(aead.NonceSize) + " bytes")
	}
	if len(e.Data) > base64.StdEncoding.EncodedLen(MaxPlaintextLen+aead.TagSize) {
		return nil, nil, malformed("data is longer than " + strconv.Itoa(MaxPlaintextLen+aead.TagSize) + " bytes")
	}
	iv, err = strictB64("iv", e.IV)
	if err != nil {
		return nil, nil, err
	}
	if len(iv) != aead.NonceSize {
		return nil, nil, malformed("iv must be " + strconv.Itoa(aead.NonceSize) + " bytes")
	}
	data, err = strictB64("data", e.Data)
	if err != nil {
		return nil, nil, err
	}
	if len(data) < aead.TagSize || len(data) > MaxPlaintextLen+aead.TagSize {
		return nil, nil, malformed("data must be " + strconv.Itoa(aead.TagSize) + ".." + strconv.Itoa(MaxPlaintextLen+aead.TagSize) + " bytes")
	}
	return iv, data, nil
}
