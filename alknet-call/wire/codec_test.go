package wire_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-call/callerr"
	"github.com/alknet/alknet/alknet-call/wire"
)

func frameOf(body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

// T-CALLP-03, T-CALLP-04, T-CALLP-06: prefix and truncation errors (CALLP-R11..R15).
func TestFrameErrors(t *testing.T) {
	t.Parallel()
	valid := frameOf(`{"type":"call.aborted","id":"a","payload":{}}`)
	cases := []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"empty frame", []byte{0, 0, 0, 0}, 0, wire.ErrEmptyFrame},
		{"over max", []byte{4, 0, 0, 1, '{'}, 0, wire.ErrFrameTooLarge},
		{"over configured limit", append([]byte{0, 0, 4, 1}, make([]byte, 1025)...), 1024, wire.ErrFrameTooLarge},
		{"clean EOF", nil, 0, io.EOF},
		{"2 prefix bytes", []byte{0, 0}, 0, wire.ErrTruncatedFrame},
		{"mid body", valid[:10], 0, wire.ErrTruncatedFrame},
		{"N=16 short body", append([]byte{0, 0, 0, 0x10}, `{"type":"x"}`...), 0, wire.ErrTruncatedFrame},
		{"uppercase key", frameOf(`{"TYPE":"call.requested","id":"a","payload":{}}`), 0, wire.ErrMalformed},
	}
	for _, tc := range cases {
		_, err := wire.NewFrameReader(bytes.NewReader(tc.in), tc.limit).Next()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Next() = %v, want %v", tc.name, err, tc.want)
		}
	}
	// The over-limit prefix is rejected without reading the body.
	r := bytes.NewReader([]byte{4, 0, 0, 1, 'x', 'y'})
	if _, err := wire.NewFrameReader(r, 0).Next(); !errors.Is(err, wire.ErrFrameTooLarge) || r.Len() != 2 {
		t.Errorf("over-limit: err %v, %d bytes left, want 2", err, r.Len())
	}
	// A frame of exactly the configured limit is accepted.
	body := `{"type":"call.aborted","id":"a","payload":{}}`
	if _, err := wire.NewFrameReader(bytes.NewReader(frameOf(body)), len(body)).Next(); err != nil {
		t.Errorf("frame of exactly the limit: %v", err)
	}
}

// T-CALLP-04: a body of exactly MaxFrameSize is accepted (CALLP-R12).
func TestMaxFrameAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB frame")
	}
	t.Parallel()
	head := `{"type":"call.responded","id":"a","payload":{"output":"`
	tail := `"}}`
	in := binary.BigEndian.AppendUint32(nil, wire.MaxFrameSize)
	in = append(in, head...)
	in = append(in, bytes.Repeat([]byte{'x'}, wire.MaxFrameSize-len(head)-len(tail))...)
	in = append(in, tail...)
	e, err := wire.NewFrameReader(bytes.NewReader(in), 0).Next()
	if err != nil {
		t.Fatalf("Next() = %v", err)
	}
	if e.Type != wire.EventResponded || len(e.Responded().Output) != wire.MaxFrameSize-len(head)-len(tail)+2 {
		t.Fatalf("decoded %q with an output of %d bytes", e.Type, len(e.Responded().Output))
	}
}

// T-CALLP-05: a 64 MiB announcement followed by 10 bytes costs far less than 64 KiB (CALLP-R14).
func TestAllocationFollowsBytes(t *testing.T) {
	in := append([]byte{4, 0, 0, 0}, "0123456789"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := wire.NewFrameReader(bytes.NewReader(in), 0).Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, wire.ErrTruncatedFrame) {
		t.Fatalf("Next() = %v, want ErrTruncatedFrame", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got >= 64<<10 {
		t.Fatalf("allocated %d bytes, want < 64 KiB", got)
	}
}

// T-CALLP-07: 64 goroutines × 1000 frames through one FrameWriter are never interleaved (CALLP-R16).
func TestConcurrentWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	fw := wire.NewFrameWriter(&buf, 0)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 1000 {
				p := []byte(`{"output":"` + strings.Repeat("x", (g*7+i)%50) + `"}`)
				if err := fw.Write(wire.Envelope{Type: wire.EventResponded, ID: "id", Payload: p}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	fr := wire.NewFrameReader(&buf, 0)
	n := 0
	for {
		_, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		n++
	}
	if n != 64000 {
		t.Fatalf("read %d frames, want 64000", n)
	}
}

var malformedBodies = []struct {
	name, body string
}{
	{"invalid UTF-8 in string", "{\"type\":\"call.aborted\",\"id\":\"a\xff\",\"payload\":{}}"},
	{"invalid UTF-8 in payload", "{\"type\":\"call.aborted\",\"id\":\"a\",\"payload\":{\"x\":\"\xc3\"}}"},
	{"BOM", "\xef\xbb\xbf{\"type\":\"call.aborted\",\"id\":\"a\",\"payload\":{}}"},
	{"top-level array", `[{"type":"call.aborted","id":"a","payload":{}}]`},
	{"trailing garbage", `{"type":"call.aborted","id":"a","payload":{}}x`},
	{"two objects", `{"type":"call.aborted","id":"a","payload":{}}{}`},
	{"missing payload", `{"type":"call.aborted","id":"a"}`},
	{"missing type", `{"id":"a","payload":{}}`},
	{"missing id", `{"type":"call.aborted","payload":{}}`},
	{"id number", `{"type":"call.aborted","id":1,"payload":{}}`},
	{"type null", `{"type":null,"id":"a","payload":{}}`},
	{"empty id", `{"type":"call.aborted","id":"","payload":{}}`},
	{"257-byte id", `{"type":"call.aborted","id":"` + strings.Repeat("a", 257) + `","payload":{}}`},
	{"Type key", `{"Type":"call.requested","id":"a","payload":{}}`},
	{"duplicate type", `{"type":"call.aborted","type":"call.aborted","id":"a","payload":{}}`},
	{"duplicate id", `{"type":"call.aborted","id":"a","id":"b","payload":{}}`},
	{"duplicate payload", `{"type":"call.aborted","id":"a","payload":{},"payload":{}}`},
	{"not JSON", `{"type":"call.aborted",`},
	{"lone surrogate in id", `{"type":"call.aborted","id":"\ud800","payload":{}}`},
	{"control char", "{\"type\":\"call.aborted\",\"id\":\"a\nb\",\"payload\":{}}"},
	{"leading zero", `{"type":"call.aborted","id":"a","payload":{"x":01}}`},
	{"empty", ``},
}

// T-CALLP-08, T-CALLP-09: strict envelope decoding (CALLP-R17, R20..R24).
func TestDecodeEnvelopeMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range malformedBodies {
		if e, err := wire.DecodeEnvelope([]byte(tc.body)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: DecodeEnvelope = %+v, %v; want ErrMalformed", tc.name, e, err)
		}
	}
	ok := []string{
		`{"type":"call.aborted","id":"` + strings.Repeat("a", 256) + `","payload":{}}`,
		`{"type":"call.aborted","id":"a","payload":{},"extra":[1,2]}`,
		`{"type":"call.ping","id":"","payload":{}}`,
		" {\"type\" : \"call.aborted\" ,\n\"id\":\"a\",\"payload\":null} \n",
		`{"type":"call.aborted","id":"\u0061","payload":{}}`,
		`{"extra":1,"extra":2,"type":"call.aborted","id":"a","payload":{}}`,
	}
	for _, body := range ok {
		if _, err := wire.DecodeEnvelope([]byte(body)); err != nil {
			t.Errorf("DecodeEnvelope(%q) = %v, want ok", body, err)
		}
	}
	e, _ := wire.DecodeEnvelope([]byte(`{"type":"call.aborted","id":"a","payload":null}`))
	if string(e.Payload) != "null" {
		t.Errorf("null payload = %q", e.Payload)
	}
}

// T-CALLP-10: numbers survive decode→encode byte for byte (CALLP-R25).
func TestNumbersKeptRaw(t *testing.T) {
	t.Parallel()
	in := `{"operationId":"/x","input":{"big":12345678901234567890,"huge":1e400,"negzero":-0.0,"f":1.50}}`
	r, err := wire.DecodeRequested([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := r.MarshalJSON()
	if string(out) != in {
		t.Errorf("re-encoded %s", out)
	}
}

// T-CALLP-12: call.requested decoding rules (CALLP-R32..R36).
func TestDecodeRequested(t *testing.T) {
	t.Parallel()
	r, err := wire.DecodeRequested([]byte(`{"operationId":"/a/b"}`))
	if err != nil || string(r.Input) != "null" || r.OperationID != "/a/b" {
		t.Errorf("missing input: %+v, %v", r, err)
	}
	r, _ = wire.DecodeRequested([]byte(`{"operationId":"/a/b","auth_token":5}`))
	if r.AuthToken != "" {
		t.Error("non-string auth_token kept")
	}
	for _, ff := range []string{`"alice"`, `["alice"]`, `{"scopes":[]}`, `{"id":"alice","scopes":"x"}`,
		`{"id":""}`, `{"id":"a","resources":[]}`, `{"id":"a","resources":{"r":"x"}}`, `{"id":"a","scopes":[1]}`,
		`{"id":"` + strings.Repeat("a", 257) + `"}`, `{"id":"a","id":"b"}`, `null`} {
		r, err := wire.DecodeRequested([]byte(`{"operationId":"/a/b","forwarded_for":` + ff + `}`))
		if err != nil || r.ForwardedFor != nil {
			t.Errorf("forwarded_for %s: %+v, %v; want absent", ff, r.ForwardedFor, err)
		}
	}
	r, _ = wire.DecodeRequested([]byte(`{"operationId":"/a/b","forwarded_for":{"id":"alice","extra":1}}`))
	if r.ForwardedFor == nil || r.ForwardedFor.ID != "alice" || r.ForwardedFor.Scopes == nil || r.ForwardedFor.Resources == nil {
		t.Errorf("minimal forwarded_for: %+v", r.ForwardedFor)
	}
	r, _ = wire.DecodeRequested([]byte(`{"operationId":"/a/b","forwarded_for":{"id":"alice","scopes":null,"resources":{"fs":["/a","/b"]}}}`))
	if r.ForwardedFor == nil || len(r.ForwardedFor.Scopes) != 0 || len(r.ForwardedFor.Resources["fs"]) != 2 {
		t.Errorf("forwarded_for with resources: %+v", r.ForwardedFor)
	}
	for _, bad := range []string{`[]`, `{}`, `{"operationId":7}`, `{"operationID":"/a/b"}`, `"x"`, `null`,
		`{"operationId":"/a","operationId":"/b"}`, `{"operationId":"/a","input":1,"input":2}`} {
		if _, err := wire.DecodeRequested([]byte(bad)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("DecodeRequested(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}

// T-CALLP-13, T-CALLP-17: canonical call.requested encoding (CALLP-R36, R37, R39).
func TestEncodeRequested(t *testing.T) {
	t.Parallel()
	r := wire.Requested{OperationID: "/a/b", ForwardedFor: &wire.ForwardedIdentity{ID: "x"}, HasTimeout: true, TimeoutMS: 5,
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	got, _ := r.MarshalJSON()
	want := `{"operationId":"/a/b","input":null,"forwarded_for":{"id":"x","scopes":[],"resources":{}},"timeout_ms":5,"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got, _ = wire.Requested{OperationID: "/a/b", TimeoutMS: 7}.MarshalJSON()
	if string(got) != `{"operationId":"/a/b","input":null}` {
		t.Errorf("zero HasTimeout: %s", got)
	}
	got, _ = wire.Requested{OperationID: "/a/b", Input: json.RawMessage(`{"a":"<b>&"}`)}.MarshalJSON()
	if string(got) != `{"operationId":"/a/b","input":{"a":"<b>&"}}` {
		t.Errorf("HTML escaped: %s", got)
	}
	if _, err := (wire.Requested{OperationID: "/a", Input: json.RawMessage(`{`)}).MarshalJSON(); err == nil {
		t.Error("invalid input encoded")
	}
}

// T-CALLP-17: timeout_ms validity (CALLP-R39).
func TestTimeoutMS(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "1", "86400000"} {
		r, err := wire.DecodeRequested([]byte(`{"operationId":"/a/b","timeout_ms":` + v + `}`))
		if err != nil || !r.HasTimeout {
			t.Errorf("timeout_ms %s: %+v %v, want valid", v, r, err)
		}
	}
	for _, v := range []string{"-1", "1.5", "1e3", "1.0", `"100"`, "null", "true", "86400001", "99999999999999999999"} {
		r, err := wire.DecodeRequested([]byte(`{"operationId":"/a/b","timeout_ms":` + v + `,"input":{"k":1}}`))
		if err != nil || r.HasTimeout || string(r.Input) != `{"k":1}` {
			t.Errorf("timeout_ms %s: %+v %v, want absent", v, r, err)
		}
	}
}

// T-CALLP-18: traceparent validity (CALLP-R46).
func TestTraceParent(t *testing.T) {
	t.Parallel()
	good := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if !wire.ValidTraceParent(good) {
		t.Fatal("W3C example rejected")
	}
	bad := []string{
		strings.ToUpper(good[:3]) + strings.ToUpper(good[3:]),
		"01" + good[2:], "ff" + good[2:],
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		good[:54], good + "0", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
	}
	for _, b := range bad {
		if wire.ValidTraceParent(b) {
			t.Errorf("ValidTraceParent(%q) = true", b)
		}
		r, _ := wire.DecodeRequested([]byte(`{"operationId":"/a","traceparent":"` + b + `"}`))
		if r.TraceParent != "" {
			t.Errorf("decoded invalid traceparent %q", b)
		}
	}
	r, _ := wire.DecodeRequested([]byte(`{"operationId":"/a","traceparent":7}`))
	if r.TraceParent != "" {
		t.Error("numeric traceparent kept")
	}
}

// T-CALLP-14: call.error decoding (CALLP-R44, R45).
func TestDecodeCallError(t *testing.T) {
	t.Parallel()
	for _, p := range []string{`"oops"`, `{}`, `{"code":1}`, `{"code":"X","message":"m"}`,
		`{"code":"X","message":"m","retryable":"yes"}`, `{"code":"X","code":"Y","message":"m","retryable":true}`, `[`} {
		e := wire.DecodeCallError([]byte(p))
		if e.Code != callerr.Internal || e.Message != "malformed call.error payload" || e.Retryable {
			t.Errorf("DecodeCallError(%s) = %+v", p, e)
		}
	}
	e := wire.DecodeCallError([]byte(`{"code":"X","message":"m","retryable":true,"details":null}`))
	if e.Code != "X" || !e.Retryable || e.Details != nil {
		t.Errorf("details null: %+v", e)
	}
	out, _ := wire.EncodeCallError(&callerr.CallError{Code: "X", Message: "m", Details: json.RawMessage("null")})
	if string(out) != `{"code":"X","message":"m","retryable":false}` {
		t.Errorf("null details encoded: %s", out)
	}
}

// DecodeResponded never fails (CALLP-R40).
func TestDecodeResponded(t *testing.T) {
	t.Parallel()
	for _, p := range []string{`[]`, `{}`, `"x"`, `{"output":1,"output":2}`, `{`} {
		if got := wire.DecodeResponded([]byte(p)); string(got.Output) != "null" {
			t.Errorf("DecodeResponded(%s) = %s", p, got.Output)
		}
	}
	if got := wire.DecodeResponded([]byte(`{"output": [1, 2]}`)); string(got.Output) != "[1, 2]" {
		t.Errorf("output = %s", got.Output)
	}
}

// T-CALLP-15: request ids (CALLP-R60).
func TestNewRequestID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 10000 {
		id := wire.NewRequestID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

// T-CALLP-16: the token never appears in String or LogValue (CALLP-R87, R181).
func TestRequestedRedaction(t *testing.T) {
	t.Parallel()
	r := wire.Requested{OperationID: "/a/b", AuthToken: "alk_secret_token", Input: json.RawMessage(`{"pw":"hunter2"}`)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("req", "r", r)
	for _, s := range []string{r.String(), buf.String()} {
		if strings.Contains(s, "alk_secret") || strings.Contains(s, "hunter2") {
			t.Errorf("secret in %q", s)
		}
		if !strings.Contains(s, "REDACTED") {
			t.Errorf("no redaction marker in %q", s)
		}
	}
}

// Strings encode exactly as encoding/json with HTML escaping off (CALLP-R26).
func TestStringEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "a\"b\\c", "\x00\x01\b\f\n\r\t\x1f", "<&>", "\u2028\u2029", "\xff\xfe", "héllo ☃ 𝄞"} {
		checkStringEncoding(t, s)
	}
}

// The eight-bytes-at-a-time prefix of the string encoder hands over to the byte loop at the right
// place: every byte that needs an escape or a UTF-8 check, at every position of the first words
// (CALLP-R26).
func TestStringEncodingEveryPosition(t *testing.T) {
	t.Parallel()
	specials := []string{"\"", "\\", "\x00", "\x1f", "\x7f", "<", "\xc3\xa9", "\u2028", "\xff", "\xe2\x82", "\xed\xa0\x80"}
	for n := 0; n <= 26; n++ {
		for pos := 0; pos <= n; pos++ {
			for _, sp := range specials {
				checkStringEncoding(t, strings.Repeat("a", pos)+sp+strings.Repeat("b", n-pos))
			}
		}
	}
}

func checkStringEncoding(t *testing.T, s string) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	want := strings.TrimSuffix(buf.String(), "\n")
	p, _ := wire.Requested{OperationID: s}.MarshalJSON()
	got := strings.TrimSuffix(strings.TrimPrefix(string(p), `{"operationId":`), `,"input":null}`)
	if got != want {
		t.Errorf("encode %q: got %s want %s", s, got, want)
	}
}

// Valid is the strict single-value check (CALLP-R17, R109).
func TestValid(t *testing.T) {
	t.Parallel()
	for _, v := range []string{`1`, ` {"a":[true,null]} `, `"\u00e9"`, `-0.5e3`} {
		if !wire.Valid([]byte(v)) {
			t.Errorf("Valid(%s) = false", v)
		}
	}
	for _, v := range []string{``, `{`, `1 2`, "\"\xff\"", `01`, `{"a" 1}`} {
		if wire.Valid([]byte(v)) {
			t.Errorf("Valid(%q) = true", v)
		}
	}
}
