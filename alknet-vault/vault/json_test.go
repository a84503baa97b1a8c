package vault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/vault"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// validBlob is a structurally valid blob (the CORE-R1201 example).
const validBlob = `{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`

// VAULT-T15: exactly four snake_case keys in order; unknown fields ignored;
// other spellings are unknown fields.
func TestEncryptedDataJSON(t *testing.T) {
	t.Parallel()
	e := vault.EncryptedData{KeyVersion: 2, Salt: "", IV: "AAAAAAAAAAAAAAAA", Data: "3q2+796tvu/erb7v3q2+7w=="}
	got, err := json.Marshal(e)
	if err != nil || string(got) != validBlob {
		t.Fatalf("Marshal = %s, %v; want %s", got, err, validBlob)
	}
	if z, _ := json.Marshal(vault.EncryptedData{}); string(z) != `{"key_version":0,"salt":"","iv":"","data":""}` {
		t.Errorf("zero value marshals as %s", z)
	}
	withUnknown := `{"extra":{"a":[1,2,{"b":null}]},"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w==","Extra":1,"extra":"again"}`
	p, err := vault.ParseEncryptedData([]byte(withUnknown))
	if err != nil || p != e {
		t.Errorf("unknown fields: %+v, %v", p, err)
	}
	var u vault.EncryptedData
	if err := json.Unmarshal([]byte(withUnknown), &u); err != nil || u != e {
		t.Errorf("json.Unmarshal with unknown fields: %+v, %v", u, err)
	}
	for _, in := range []string{
		`{"Key_Version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,
		`{"keyVersion":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,
		`{"KEY_VERSION":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,
	} {
		_, err := vault.ParseEncryptedData([]byte(in))
		if vault.CodeOf(err) != vault.CodeMalformedCiphertext || !strings.Contains(err.Error(), "missing field key_version") {
			t.Errorf("ParseEncryptedData(%s) = %v, want missing key_version", in, err)
		}
	}
	// Inside a larger document.
	var doc struct {
		Blob vault.EncryptedData `json:"blob"`
	}
	if err := json.Unmarshal([]byte(`{"blob":`+validBlob+`}`), &doc); err != nil || doc.Blob != e {
		t.Errorf("nested: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"blob":{"key_version":"2"}}`), &doc); err == nil {
		t.Error("nested bad blob accepted")
	}
}

// badBlobs are VAULT-T23's malformed inputs.
func badBlobs() map[string]string {
	field := func(kv, salt, iv, data string) string {
		return `{"key_version":` + kv + `,"salt":` + salt + `,"iv":` + iv + `,"data":` + data + `}`
	}
	iv := `"AAAAAAAAAAAAAAAA"`
	data := `"3q2+796tvu/erb7v3q2+7w=="`
	b64 := func(n int) string { return `"` + base64.StdEncoding.EncodeToString(make([]byte, n)) + `"` }
	return map[string]string{
		"iv wrong alphabet":      field("2", `""`, `"AAAAAAAAAAAAAA-_"`, data),
		"data wrong alphabet":    field("2", `""`, iv, `"3q2-796tvu_erb7v3q2-7w=="`),
		"iv non-zero padding":    field("2", `""`, `"AAAAAAAAAAAAAAB="`, data),
		"data non-zero padding":  field("2", `""`, iv, `"3q2+796tvu/erb7v3q2+7x=="`),
		"data embedded CRLF":     field("2", `""`, iv, `"3q2+796tvu/e\r\nrb7v3q2+7w=="`),
		"iv embedded LF":         field("2", `""`, `"AAAAAAAA\nAAAAAAAA"`, data),
		"iv 11 bytes":            field("2", `""`, b64(11), data),
		"iv 13 bytes":            field("2", `""`, b64(13), data),
		"data 15 bytes":          field("2", `""`, iv, b64(15)),
		"data too long":          field("2", `""`, iv, b64(64<<10+17)),
		"version -1":             field("-1", `""`, iv, data),
		"version 2.5":            field("2.5", `""`, iv, data),
		"version 2.0":            field("2.0", `""`, iv, data),
		"version 2e0":            field("2e0", `""`, iv, data),
		"version string":         field(`"2"`, `""`, iv, data),
		"version 2^32":           field("4294967296", `""`, iv, data),
		"version null":           field("null", `""`, iv, data),
		"version true":           field("true", `""`, iv, data),
		"version object":         field("{}", `""`, iv, data),
		"salt null":              field("2", "null", iv, data),
		"salt number":            field("2", "1", iv, data),
		"iv null":                field("2", `""`, "null", data),
		"data array":             field("2", `""`, iv, "[]"),
		"missing key_version":    `{"salt":"","iv":` + iv + `,"data":` + data + `}`,
		"missing salt":           `{"key_version":2,"iv":` + iv + `,"data":` + data + `}`,
		"missing iv":             `{"key_version":2,"salt":"","data":` + data + `}`,
		"missing data":           `{"key_version":2,"salt":"","iv":` + iv + `}`,
		"key_version twice":      `{"key_version":2,"key_version":2,"salt":"","iv":` + iv + `,"data":` + data + `}`,
		"iv twice":               `{"key_version":2,"salt":"","iv":` + iv + `,"iv":` + iv + `,"data":` + data + `}`,
		"trailing object":        validBlob + `{}`,
		"trailing garbage":       validBlob + ` x`,
		"not an object":          `[` + validBlob + `]`,
		"null":                   `null`,
		"empty":                  ``,
		"truncated":              validBlob[:len(validBlob)-1],
		"trailing comma":         strings.TrimSuffix(validBlob, "}") + `,}`,
		"over 96 KiB":            `{"pad":"` + strings.Repeat("a", 96<<10) + `",` + validBlob[1:],
		"data not base64 at all": field("2", `""`, iv, `"!!!!!!!!!!!!!!!!!!!!!!!!"`),
	}
}

// VAULT-T23: malformed blobs through ParseEncryptedData and, as hand-built
// structs, through Decrypt.
func TestMalformedBlobs(t *testing.T) {
	t.Parallel()
	v := unlocked(t, vault.Config{}, testPhrase)
	for name, in := range badBlobs() {
		_, err := vault.ParseEncryptedData([]byte(in))
		if vault.CodeOf(err) != vault.CodeMalformedCiphertext {
			t.Errorf("%s: ParseEncryptedData = %v, want VAULT_MALFORMED_CIPHERTEXT", name, err)
		}
		if len(in) <= 96<<10 {
			var e vault.EncryptedData
			if err := json.Unmarshal([]byte(in), &e); err == nil {
				t.Errorf("%s: json.Unmarshal accepted it", name)
			}
		}
	}
	// Hand-built structs with the same field defects.
	good := vault.EncryptedData{KeyVersion: 2, IV: "AAAAAAAAAAAAAAAA", Data: "3q2+796tvu/erb7v3q2+7w=="}
	if _, err := v.Decrypt(good); vault.CodeOf(err) != vault.CodeDecryptFailed {
		t.Fatalf("structurally valid blob: %v", err)
	}
	for name, mod := range map[string]func(*vault.EncryptedData){
		"iv alphabet":     func(e *vault.EncryptedData) { e.IV = "AAAAAAAAAAAAAA-_" },
		"iv 11":           func(e *vault.EncryptedData) { e.IV = base64.StdEncoding.EncodeToString(make([]byte, 11)) },
		"iv 13":           func(e *vault.EncryptedData) { e.IV = base64.StdEncoding.EncodeToString(make([]byte, 13)) },
		"iv CRLF":         func(e *vault.EncryptedData) { e.IV = "AAAAAAAA\r\nAAAAAAAA" },
		"iv empty":        func(e *vault.EncryptedData) { e.IV = "" },
		"data padding":    func(e *vault.EncryptedData) { e.Data = "3q2+796tvu/erb7v3q2+7x==" },
		"data CRLF":       func(e *vault.EncryptedData) { e.Data = "3q2+796tvu/e\r\nrb7v3q2+7w==" },
		"data 15":         func(e *vault.EncryptedData) { e.Data = base64.StdEncoding.EncodeToString(make([]byte, 15)) },
		"data empty":      func(e *vault.EncryptedData) { e.Data = "" },
		"data too long":   func(e *vault.EncryptedData) { e.Data = base64.StdEncoding.EncodeToString(make([]byte, 64<<10+17)) },
		"data raw base64": func(e *vault.EncryptedData) { e.Data = "3q2+796tvu/erb7v3q2+7w" },
	} {
		e := good
		mod(&e)
		_, err := v.Decrypt(e)
		if vault.CodeOf(err) != vault.CodeMalformedCiphertext {
			t.Errorf("%s: Decrypt = %v, want VAULT_MALFORMED_CIPHERTEXT", name, err)
		}
		_, err = v.Rotate(e, 2)
		if vault.CodeOf(err) != vault.CodeMalformedCiphertext {
			t.Errorf("%s: Rotate = %v, want VAULT_MALFORMED_CIPHERTEXT", name, err)
		}
	}
	// key_version 0, 1 and 2^31+2 parse; Decrypt refuses them.
	for _, kv := range []string{"0", "1", "2147483650", "4294967295"} {
		in := strings.Replace(validBlob, `"key_version":2`, `"key_version":`+kv, 1)
		e, err := vault.ParseEncryptedData([]byte(in))
		if err != nil {
			t.Errorf("key_version %s does not parse: %v", kv, err)
			continue
		}
		_, err = v.Decrypt(e)
		wantCode(t, "Decrypt key_version "+kv, err, vault.CodeInvalidKeyVersion)
	}
	// Version is checked before structure (VAULT-R58).
	_, err := v.Decrypt(vault.EncryptedData{KeyVersion: 1})
	wantCode(t, "version before structure", err, vault.CodeInvalidKeyVersion)
}

// VAULT-T15: json.Unmarshal and ParseEncryptedData accept and reject the
// same inputs.
func TestUnmarshalMatchesParse(t *testing.T) {
	t.Parallel()
	inputs := []string{validBlob, ` ` + validBlob + "\n\t", `{"key_version":2,"salt":"anything goes","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w==","x":[]}`}
	for _, in := range badBlobs() {
		if len(in) <= 96<<10 {
			inputs = append(inputs, in)
		}
	}
	for _, in := range inputs {
		sameVerdict(t, []byte(in))
	}
}

func sameVerdict(t *testing.T, in []byte) {
	t.Helper()
	p, perr := vault.ParseEncryptedData(in)
	var u vault.EncryptedData
	uerr := json.Unmarshal(in, &u)
	if (perr == nil) != (uerr == nil) {
		t.Fatalf("input %q: ParseEncryptedData err %v, json.Unmarshal err %v", in, perr, uerr)
	}
	if perr == nil && p != u {
		t.Fatalf("input %q: results differ: %+v vs %+v", in, p, u)
	}
	if perr != nil && vault.CodeOf(perr) != vault.CodeMalformedCiphertext {
		t.Fatalf("input %q: ParseEncryptedData error %v has no malformed code", in, perr)
	}
}

// VAULT-T50: FuzzParseEncryptedData never panics, agrees with json.Unmarshal
// and a parsed blob re-marshals to an equal blob.
func FuzzParseEncryptedData(f *testing.F) {
	f.Add([]byte(validBlob))
	f.Add([]byte(pinBlob))
	for _, in := range badBlobs() {
		if len(in) < 4096 {
			f.Add([]byte(in))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 96<<10 {
			return
		}
		sameVerdict(t, in)
		p, err := vault.ParseEncryptedData(in)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := vault.ParseEncryptedData(out)
		if err != nil || q != p {
			t.Fatalf("re-marshal of %q: %+v, %v", in, q, err)
		}
	})
}

// VAULT-T50: FuzzDecrypt never panics and every error carries a vault code.
func FuzzDecrypt(f *testing.F) {
	v := vault.New(vault.Config{CacheMaxEntries: 4})
	if err := v.Unlock([]byte(testPhrase), nil); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Lock)
	f.Add(uint32(2), "", "AAECAwQFBgcICQoL", "bohwfkKYeHsg/83jhIYnmgaENWRs2SbSUyCfKyIwUiToUe3D1pQ=")
	f.Add(uint32(3), "x", "AAAAAAAAAAAAAAAA", "3q2+796tvu/erb7v3q2+7w==")
	f.Add(uint32(1), "", "", "")
	f.Add(uint32(0xffffffff), "", "AAAAAAAA\r\nAAAA", "==")
	f.Fuzz(func(t *testing.T, kv uint32, salt, iv, data string) {
		e := vault.EncryptedData{KeyVersion: kv, Salt: salt, IV: iv, Data: data}
		pt, err := v.Decrypt(e)
		if err != nil {
			if vault.CodeOf(err) == "" || pt != nil {
				t.Fatalf("Decrypt(%+v) = %q, %v", e, pt, err)
			}
			return
		}
		if !bytes.Equal(pt, []byte(pinPlaintext)) && kv == 2 && iv == "AAECAwQFBgcICQoL" {
			t.Fatalf("unexpected plaintext %q", pt)
		}
	})
}
