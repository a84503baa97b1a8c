package store_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The vector of CORE-R1201.
const vector = `{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`

func blob(fill byte) store.EncryptedData {
	d := make([]byte, 16)
	for i := range d {
		d[i] = fill
	}
	return store.EncryptedData{KeyVersion: 2, Salt: []byte{1, 2, 3}, IV: make([]byte, 12), Data: d}
}

// CORE-T1204: the JSON form equals the vault's vector and round-trips.
func TestEncryptedDataJSON(t *testing.T) {
	t.Parallel()
	want := store.EncryptedData{KeyVersion: 2, IV: make([]byte, 12), Data: []byte{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}}
	b, err := json.Marshal(want)
	if err != nil || string(b) != vector {
		t.Fatalf("Marshal = %s, %v; want %s", b, err, vector)
	}
	var got store.EncryptedData
	if err := json.Unmarshal([]byte(vector), &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Unmarshal = %+v, %v; want %+v", got, err, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("vector does not validate: %v", err)
	}
	b, _ = json.Marshal(store.EncryptedData{KeyVersion: 1})
	if string(b) != `{"key_version":1,"salt":"","iv":"","data":""}` {
		t.Fatalf("nil slices encode as %s", b)
	}
	ok := []string{
		` {"data":"3q2+796tvu/erb7v3q2+7w==","iv":"AAAAAAAAAAAAAAAA","salt":"","key_version":2} `,
		`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w==","extra":{"a":[1,null]},"extra":1,"Extra":null}`,
		`{"key_version":4294967295,"salt":"AQID","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,
		`{"key_version":0,"salt":"","iv":"","data":""}`, // structure only; Validate rejects it
	}
	for _, in := range ok {
		var e store.EncryptedData
		if err := json.Unmarshal([]byte(in), &e); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
		}
	}
}

var badDocs = []string{
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAA!","data":"3q2+796tvu/erb7v3q2+7w=="}`,                         // invalid base64
	`{"key_version":2,"salt":"","iv":"AAAAAAAA\r\nAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                     // embedded CRLF
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA"}`,                                                           // missing data
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","Data":"3q2+796tvu/erb7v3q2+7w=="}`,                         // "Data"
	`{"keyVersion":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                          // "keyVersion"
	`{"key_version":null,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                      // null key_version
	`{"key_version":2,"salt":null,"iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // null salt
	`{"key_version":2,"salt":"","iv":null,"data":"3q2+796tvu/erb7v3q2+7w=="}`,                                       // null iv
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":null}`,                                               // null data
	`{"key_version":-1,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                        // -1
	`{"key_version":2.5,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // 2.5
	`{"key_version":2.0,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // 2.0
	`{"key_version":2e0,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // 2e0
	`{"key_version":"2","salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // "2"
	`{"key_version":4294967296,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                // 2^32
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`, // iv twice
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="} {}`,                      // trailing object
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w==="}`,                        // extra padding
	`{"key_version":2,"salt":"AB==","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                     // non-zero padding bits
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w"}`,                           // missing padding
	`{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2-796tvu_erb7v3q2+7w=="}`,                         // URL alphabet
	`{"key_version":2,"salt":[],"iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                         // array salt
	`{"key_version":[2],"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"3q2+796tvu/erb7v3q2+7w=="}`,                       // array version
	`[]`, `null`, `"x"`, ``, `{`, `{"key_version":2,}`,
}

// CORE-T1204, CORE-R1204: every malformed document is STORE_SERIALIZATION.
func TestEncryptedDataRejects(t *testing.T) {
	t.Parallel()
	for _, in := range badDocs {
		var e store.EncryptedData
		err := e.UnmarshalJSON([]byte(in)) // directly, so trailing data is this decoder's job
		if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization || !errors.Is(err, store.ErrSerialization) {
			t.Errorf("UnmarshalJSON(%s) = %v, want STORE_SERIALIZATION", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "3q2+") {
			t.Errorf("error quotes blob contents: %v", err)
		}
	}
}

// FuzzEncryptedDataJSON: decoding never panics; accepted documents re-encode to a
// document that decodes to the same value.
func FuzzEncryptedDataJSON(f *testing.F) {
	f.Add([]byte(vector))
	for _, d := range badDocs {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e store.EncryptedData
		if err := e.UnmarshalJSON(b); err != nil {
			if alkerr.CodeOf(err) != alkerr.CodeStoreSerialization {
				t.Fatalf("error %v has code %q", err, alkerr.CodeOf(err))
			}
			return
		}
		enc, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var again store.EncryptedData
		if err := json.Unmarshal(enc, &again); err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip of %q: %s gives %+v, %v", b, enc, again, err)
		}
	})
}

// CORE-R1203: a blob logged through slog shows its key version, never its contents.
func TestEncryptedDataLogValue(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := blob(0xab)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("stored", "provider", "openai", "blob", e)
	out := buf.String()
	if !strings.Contains(out, `"key_version":2`) || strings.Contains(out, base64.StdEncoding.EncodeToString(e.Data)) || strings.Contains(out, "AQID") {
		t.Fatalf("log line %s", out)
	}
}

// CORE-T1205: Validate and Put reject bad blobs and provider names.
func TestValidate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := store.NewInMemoryCredentialStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	mutate := map[string]func(*store.EncryptedData){
		"key_version 0": func(e *store.EncryptedData) { e.KeyVersion = 0 },
		"11-byte iv":    func(e *store.EncryptedData) { e.IV = make([]byte, 11) },
		"13-byte iv":    func(e *store.EncryptedData) { e.IV = make([]byte, 13) },
		"15-byte data":  func(e *store.EncryptedData) { e.Data = make([]byte, 15) },
		"65-byte salt":  func(e *store.EncryptedData) { e.Salt = make([]byte, 65) },
	}
	for name, m := range mutate {
		e := blob(1)
		m(&e)
		if err := e.Validate(); alkerr.CodeOf(err) != alkerr.CodeStoreInvalid {
			t.Errorf("%s: Validate = %v", name, err)
		}
		if err := s.Put(ctx, "openai", e); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: Put = %v", name, err)
		}
	}
	e := blob(1)
	e.Salt = make([]byte, 64)
	if err := e.Validate(); err != nil {
		t.Errorf("64-byte salt: %v", err)
	}
	for _, name := range []string{"", "a b", strings.Repeat("a", 129), "ü", "a/b"} {
		if err := s.Put(ctx, name, blob(1)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Put(%q) = %v, want STORE_INVALID", name, err)
		}
		if _, found, err := s.Get(ctx, name); found || err != nil {
			t.Errorf("Get(%q) = %v, %v; want not found", name, found, err)
		}
	}
	for _, name := range []string{"a", strings.Repeat("a", 128), "open-ai_v2.x", "GitHub"} {
		if err := s.Put(ctx, name, blob(1)); err != nil {
			t.Errorf("Put(%q) = %v", name, err)
		}
	}
	if _, err := store.NewInMemoryCredentialStore(map[string]store.EncryptedData{"bad name": blob(1)}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("constructor with a bad name: %v", err)
	}
}

// CORE-T1201: put, get, replace, delete.
func TestInMemoryStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := store.NewInMemoryCredentialStore(map[string]store.EncryptedData{"github": blob(9)})
	if err != nil {
		t.Fatal(err)
	}
	var _ store.CredentialStore = s
	if got, found, err := s.Get(ctx, "github"); !found || err != nil || !reflect.DeepEqual(got, blob(9)) {
		t.Fatalf("initial Get = %+v, %v, %v", got, found, err)
	}
	if _, found, err := s.Get(ctx, "openai"); found || err != nil {
		t.Fatalf("missing Get = %v, %v", found, err)
	}
	if err := s.Put(ctx, "openai", blob(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "openai", blob(2)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "openai"); !reflect.DeepEqual(got, blob(2)) {
		t.Fatalf("after replace: %+v", got)
	}
	lister, ok := any(s).(store.CredentialLister)
	if !ok {
		t.Fatal("in-memory store is not a CredentialLister")
	}
	if names, err := lister.Providers(ctx); err != nil || strings.Join(names, ",") != "github,openai" {
		t.Fatalf("Providers = %v, %v", names, err)
	}
	if err := s.Delete(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "openai"); err != nil {
		t.Fatalf("delete of a missing provider: %v", err)
	}
	if _, found, _ := s.Get(ctx, "openai"); found {
		t.Fatal("deleted provider still found")
	}
	empty, _ := store.NewInMemoryCredentialStore(nil)
	if names, err := empty.Providers(ctx); err != nil || names == nil || len(names) != 0 {
		t.Fatalf("empty Providers = %#v, %v", names, err)
	}
}

// CORE-T1202: stored blobs are copies on the way in and out.
func TestInMemoryStoreCopies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := store.NewInMemoryCredentialStore(nil)
	in := blob(1)
	if err := s.Put(ctx, "p", in); err != nil {
		t.Fatal(err)
	}
	in.Data[0], in.IV[0], in.Salt[0] = 0xff, 0xff, 0xff
	out, _, _ := s.Get(ctx, "p")
	if !reflect.DeepEqual(out, blob(1)) {
		t.Fatalf("mutating the Put argument changed the store: %+v", out)
	}
	out.Data[0], out.IV[0], out.Salt[0] = 0xff, 0xff, 0xff
	again, _, _ := s.Get(ctx, "p")
	if !reflect.DeepEqual(again, blob(1)) {
		t.Fatalf("mutating a Get result changed the store: %+v", again)
	}
	c := again.Clone()
	c.Data[1] = 0xee
	if again.Data[1] == 0xee {
		t.Fatal("Clone shares storage")
	}
}

// CORE-T1203: concurrent mixed operations on overlapping providers.
func TestInMemoryStoreConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := store.NewInMemoryCredentialStore(nil)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprint("p", (g+i)%5)
				switch i % 3 {
				case 0:
					if err := s.Put(ctx, name, blob(byte(g))); err != nil {
						t.Error(err)
						return
					}
				case 1:
					if got, found, err := s.Get(ctx, name); err != nil || (found && (len(got.Data) != 16 || got.Data[0] != got.Data[15])) {
						t.Errorf("Get = %+v, %v, %v", got, found, err)
						return
					}
				default:
					if err := s.Delete(ctx, name); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	names, _ := s.Providers(ctx)
	if len(names) > 5 {
		t.Fatalf("Providers = %v", names)
	}
}

// Conventions: the codes of this package's sentinels are unique and listed in
// docs/errors.md under "### store".
func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, _ := strings.Cut(string(doc), "\n### store ")
	sec, _, _ = strings.Cut(sec, "\n### ")
	sentinels := []error{store.ErrBackend, store.ErrNotFound, store.ErrSerialization, store.ErrInvalid}
	seen := map[alkerr.Code]bool{}
	for i, c := range store.Codes() {
		if seen[c] || !strings.Contains(sec, "`"+string(c)+"`") || alkerr.CodeOf(sentinels[i]) != c {
			t.Errorf("code %s duplicated, undocumented or not its sentinel's", c)
		}
		seen[c] = true
	}
}
