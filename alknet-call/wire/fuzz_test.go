package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/alknet/alknet/alknet-call/wire"
)

func seedFrames(f *testing.F) {
	for _, g := range loadGolden(f) {
		f.Add(g.frame)
	}
	for _, tc := range malformedBodies {
		f.Add(frameOf(tc.body))
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{4, 0, 0, 1})
	f.Add([]byte{0, 0})
}

func seedBodies(f *testing.F) {
	for _, g := range loadGolden(f) {
		f.Add(g.frame[wire.PrefixLen:])
	}
	for _, tc := range malformedBodies {
		f.Add([]byte(tc.body))
	}
}

func seedPayloads(f *testing.F) {
	for _, g := range loadGolden(f) {
		if e, err := wire.DecodeEnvelope(g.frame[wire.PrefixLen:]); err == nil {
			f.Add([]byte(e.Payload))
		}
	}
	for _, p := range []string{`[]`, `{}`, `{"operationId":7}`, `{"operationId":"/a","timeout_ms":1e3}`,
		`{"operationId":"/a","forwarded_for":{"id":"x","scopes":null,"resources":{"a":["b"]}}}`,
		`{"code":"X","message":"m","retryable":true,"details":null}`, `"oops"`} {
		f.Add([]byte(p))
	}
}

func checkEnvelope(t *testing.T, e wire.Envelope) {
	t.Helper()
	if got, want := e.Responded().Output, wire.DecodeResponded(e.Payload).Output; !bytes.Equal(got, want) {
		t.Fatalf("Envelope.Responded() = %q, DecodeResponded = %q", got, want)
	}
	b, err := wire.AppendFrame(nil, e, 0)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", e, err)
	}
	again, err := wire.NewFrameReader(bytes.NewReader(b), 0).Next()
	if err != nil {
		t.Fatalf("re-decode %q: %v", b, err)
	}
	if again.Type != e.Type || again.ID != e.ID {
		t.Fatalf("round trip changed envelope: %+v -> %+v", e, again)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, e.Payload)
	if !bytes.Equal(again.Payload, compact.Bytes()) {
		t.Fatalf("payload %q re-decoded as %q", e.Payload, again.Payload)
	}
}

// T-CALLP-20: arbitrary bytes into a FrameReader with a 1 MiB limit.
func FuzzFrameReader(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := wire.NewFrameReader(bytes.NewReader(in), 1<<20)
		for {
			e, err := fr.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, wire.ErrEmptyFrame) && !errors.Is(err, wire.ErrFrameTooLarge) &&
					!errors.Is(err, wire.ErrTruncatedFrame) && !errors.Is(err, wire.ErrMalformed) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			checkEnvelope(t, e)
		}
	})
}

// T-CALLP-21: arbitrary bodies; anything accepted is also accepted by encoding/json.
func FuzzDecodeEnvelope(f *testing.F) {
	seedBodies(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := wire.DecodeEnvelope(body)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", body, err)
		}
		checkEnvelope(t, e)
	})
}

// T-CALLP-22: call.requested payloads never panic and re-encode canonically.
func FuzzDecodeRequested(f *testing.F) {
	seedPayloads(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := wire.DecodeRequested(p)
		if err != nil {
			return
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := wire.DecodeRequested(out)
		if err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		out2, _ := again.MarshalJSON()
		if !bytes.Equal(out, out2) {
			t.Fatalf("not canonical: %s vs %s", out, out2)
		}
		if again.OperationID != r.OperationID || again.HasTimeout != r.HasTimeout || again.TimeoutMS != r.TimeoutMS ||
			again.TraceParent != r.TraceParent || again.AuthToken != r.AuthToken ||
			!reflect.DeepEqual(again.ForwardedFor, r.ForwardedFor) {
			t.Fatalf("round trip changed %+v into %+v", r, again)
		}
	})
}

// T-CALLP-22: call.error payloads never panic and re-encode canonically.
func FuzzDecodeCallError(f *testing.F) {
	seedPayloads(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		e := wire.DecodeCallError(p)
		out, err := wire.EncodeCallError(e)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", e, err)
		}
		again := wire.DecodeCallError(out)
		out2, _ := wire.EncodeCallError(again)
		if !bytes.Equal(out, out2) || again.Code != e.Code || again.Message != e.Message || again.Retryable != e.Retryable {
			t.Fatalf("round trip %s -> %s", out, out2)
		}
	})
}

// DecodeResponded never panics and its output re-encodes.
func FuzzDecodeResponded(f *testing.F) {
	seedPayloads(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		r := wire.DecodeResponded(p)
		if _, err := r.MarshalJSON(); err != nil {
			t.Fatalf("re-encode output %q: %v", r.Output, err)
		}
	})
}

// Strings encode exactly like encoding/json with HTML escaping off.
func FuzzStringEncoding(f *testing.F) {
	for _, s := range []string{"plain", "\x00\u2028<&>", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkStringEncoding(t, s) })
}

// Valid accepts exactly the bodies encoding/json accepts that are also valid UTF-8, within its
// nesting limit (CALLP-R17, CALLP-R21); the word-at-a-time and vectorised string scans must not
// change that.
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":"bcdefghijklmnop\"q\\r"}`, `"0123456789abcdef\u0041"`, "\"tab\there\"", `[1,2.5e3,true,null]`, "\"\xc3\xa9t\xc3\xa9\"", `"unterminated`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := wire.Valid(b)
		want := json.Valid(b) && utf8.Valid(b)
		if got && !want {
			t.Fatalf("Valid(%q) = true, encoding/json or UTF-8 disagree", b)
		}
		if want && !got && len(b) < 2*1000 {
			t.Fatalf("Valid(%q) = false, want true", b)
		}
	})
}
