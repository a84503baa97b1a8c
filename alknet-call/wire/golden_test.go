package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-call/wire"
)

type golden struct {
	name  string
	frame []byte
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.frame"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden frames: %v", err)
	}
	var out []golden
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, golden{filepath.Base(f), b})
	}
	return out
}

// reencode decodes the payload with the typed decoder of its event type and encodes it again.
func reencode(t *testing.T, e wire.Envelope) wire.Envelope {
	t.Helper()
	var p []byte
	var err error
	switch e.Type {
	case wire.EventRequested:
		var r wire.Requested
		r, err = wire.DecodeRequested(e.Payload)
		if err == nil {
			p, err = r.MarshalJSON()
		}
	case wire.EventResponded:
		if got, want := e.Responded().Output, wire.DecodeResponded(e.Payload).Output; !bytes.Equal(got, want) {
			t.Fatalf("Envelope.Responded() = %q, want %q", got, want)
		}
		p, err = e.Responded().MarshalJSON()
	case wire.EventError:
		p, err = wire.EncodeCallError(wire.DecodeCallError(e.Payload))
	case wire.EventCompleted, wire.EventAborted:
		p = []byte("{}")
	default:
		t.Fatalf("unexpected type %q", e.Type)
	}
	if err != nil {
		t.Fatalf("re-encode %s: %v", e.Type, err)
	}
	return wire.Envelope{Type: e.Type, ID: e.ID, Payload: p}
}

// T-CALLP-01, T-CALLP-60: every frame of §19 decodes, and encoding the decoded values produces
// the same bytes (CALLP-R10, R26).
func TestGoldenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, g := range loadGolden(t) {
		t.Run(g.name, func(t *testing.T) {
			fr := wire.NewFrameReader(bytes.NewReader(g.frame), 0)
			e, err := fr.Next()
			if err != nil {
				t.Fatalf("Next() = %v", err)
			}
			if _, err := fr.Next(); err != io.EOF {
				t.Fatalf("second Next() = %v, want io.EOF", err)
			}
			if !strings.HasSuffix(g.name, strings.TrimPrefix(e.Type, "call.")+".frame") {
				t.Errorf("type %q does not match file name", e.Type)
			}
			got, err := wire.AppendFrame(nil, reencode(t, e), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, g.frame) {
				t.Errorf("re-encoded frame\n got %q\nwant %q", got, g.frame)
			}
			// The raw envelope re-encodes identically as well.
			raw, err := wire.AppendFrame(nil, e, 0)
			if err != nil || !bytes.Equal(raw, g.frame) {
				t.Errorf("AppendFrame(decoded) = %q, %v", raw, err)
			}
		})
	}
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// T-CALLP-60: the encoder builds the §19 request frames from Go values byte for byte.
func TestGoldenFromGoValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		id   string
		req  wire.Requested
	}{
		{"e1-01-requested.frame", "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", wire.Requested{
			OperationID: "/fs/readFile", Input: json.RawMessage(`{"path":"/etc/hostname"}`)}},
		{"e2-03-requested.frame", "e7f8a9b0-c1d2-4e3f-8a4b-5c6d7e8f9a0b", wire.Requested{OperationID: "/fs/missing"}},
		{"e4-03-requested.frame", "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c", wire.Requested{
			OperationID: "/container/exec", Input: json.RawMessage(`{"cmd": "make test"}`), AuthToken: "alk_alice_token",
			HasTimeout: true, TimeoutMS: 30000, TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		{"e4-04-requested.frame", "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f", wire.Requested{
			OperationID: "/container/exec", Input: json.RawMessage(`{"cmd":"make test"}`), AuthToken: "alk_hub_token",
			ForwardedFor: &wire.ForwardedIdentity{ID: "alice", Scopes: []string{"fs:read", "container:exec"}},
			HasTimeout:   true, TimeoutMS: 29987, TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"}},
	}
	for _, tc := range cases {
		p, err := tc.req.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := wire.AppendFrame(nil, wire.Envelope{Type: wire.EventRequested, ID: tc.id, Payload: p}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := readGolden(t, tc.file); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.file, got, want)
		}
	}
	// E2's domain error with details, built from a CallError value.
	ce := wire.DecodeCallError([]byte(`{"code":"FILE_NOT_FOUND","message":"file not found: /nope","retryable":false,"details":{"path":"/nope"}}`))
	p, _ := wire.EncodeCallError(ce)
	got, _ := wire.AppendFrame(nil, wire.Envelope{Type: wire.EventError, ID: "9d4e2b7a-1c3f-4a5b-8e6d-0f1a2b3c4d5e", Payload: p}, 0)
	if want := readGolden(t, "e2-02-error.frame"); !bytes.Equal(got, want) {
		t.Errorf("e2-02: got %q", got)
	}
	// E4's abort frame.
	got, _ = wire.AppendFrame(nil, wire.Envelope{Type: wire.EventAborted, ID: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e", Payload: []byte("{}")}, 0)
	if want := readGolden(t, "e4-02-aborted.frame"); !bytes.Equal(got, want) {
		t.Errorf("e4-02: got %q", got)
	}
}

// T-CALLP-02: frames back to back are read in order; bytes after the last frame stay unread.
func TestBackToBack(t *testing.T) {
	t.Parallel()
	var all []byte
	gs := loadGolden(t)
	for _, g := range gs {
		all = append(all, g.frame...)
	}
	all = append(all, 0xAA, 0xBB)
	r := bytes.NewReader(all)
	fr := wire.NewFrameReader(r, 0)
	for _, g := range gs {
		e, err := fr.Next()
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		again, _ := wire.AppendFrame(nil, e, 0)
		if !bytes.Equal(again, g.frame) {
			t.Fatalf("%s: out of order or altered", g.name)
		}
	}
	if r.Len() != 2 {
		t.Fatalf("after the last frame %d bytes left, want 2", r.Len())
	}
	if _, err := fr.Next(); !errors.Is(err, wire.ErrTruncatedFrame) {
		t.Fatalf("trailing 2 bytes: %v, want ErrTruncatedFrame", err)
	}

	// The reader never reads past the current frame.
	r2 := bytes.NewReader(append(append([]byte{}, gs[0].frame...), 0xAA, 0xBB))
	if _, err := wire.NewFrameReader(r2, 0).Next(); err != nil {
		t.Fatal(err)
	}
	if r2.Len() != 2 {
		t.Fatalf("after one frame %d bytes left, want 2", r2.Len())
	}
}

// T-CALLP-61, T-CALLP-11, T-CALLP-19: serde-shaped frames (sorted keys, pretty printing, null or
// extra payloads) decode to the same values as the canonical ones.
func TestSerdeShapes(t *testing.T) {
	t.Parallel()
	pretty := `{
  "type": "call.error",
  "id": "9d4e2b7a-1c3f-4a5b-8e6d-0f1a2b3c4d5e",
  "payload": {"code": "FILE_NOT_FOUND", "details": {"path": "/nope"}, "message": "file not found: /nope", "retryable": false}
}`
	e, err := wire.DecodeEnvelope([]byte(pretty))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := wire.AppendFrame(nil, reencode(t, e), 0)
	if want := readGolden(t, "e2-02-error.frame"); !bytes.Equal(got, want) {
		t.Errorf("pretty sorted call.error re-encodes to %q", got)
	}
	sorted := `{"type":"call.requested","id":"6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c","payload":{"auth_token":"alk_alice_token","input":{"cmd":"make test"},"operationId":"/container/exec","timeout_ms":30000,"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`
	e, err = wire.DecodeEnvelope([]byte(sorted))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = wire.AppendFrame(nil, reencode(t, e), 0)
	if want := readGolden(t, "e4-03-requested.frame"); !bytes.Equal(got, want) {
		t.Errorf("sorted call.requested re-encodes to %q", got)
	}
	sortedFwd := `{"payload":{"auth_token":"alk_hub_token","forwarded_for":{"id":"alice","resources":{},"scopes":["fs:read","container:exec"]},"input":{"cmd":"make test"},"operationId":"/container/exec","timeout_ms":29987,"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"},"id":"8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f","type":"call.requested"}`
	e, err = wire.DecodeEnvelope([]byte(sortedFwd))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = wire.AppendFrame(nil, reencode(t, e), 0)
	if want := readGolden(t, "e4-04-requested.frame"); !bytes.Equal(got, want) {
		t.Errorf("sorted forwarded call.requested re-encodes to %q", got)
	}
	for _, body := range []string{
		`{"type":"call.completed","id":"a","payload":null}`,
		`{"type":"call.aborted","id":"a","payload":{"reason":"x"}}`,
	} {
		if _, err := wire.DecodeEnvelope([]byte(body)); err != nil {
			t.Errorf("DecodeEnvelope(%s) = %v", body, err)
		}
	}
}

// The one-pass frame builders produce the same bytes as AppendFrame (CALLP-R26).
func TestOnePassBuilders(t *testing.T) {
	t.Parallel()
	req := wire.Requested{OperationID: "/fs/readFile", Input: json.RawMessage(`{"path":"/etc/hostname"}`)}
	got, err := wire.AppendRequestedFrame(nil, "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", req, 0)
	if want := readGolden(t, "e1-01-requested.frame"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("AppendRequestedFrame = %q, %v", got, err)
	}
	got, err = wire.AppendRespondedFrame(nil, "5f0c3a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", json.RawMessage(`{"content": "node-a\n"}`), 0)
	if want := readGolden(t, "e1-02-responded.frame"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("AppendRespondedFrame = %q, %v", got, err)
	}
	if _, err := wire.AppendRespondedFrame(nil, "a", json.RawMessage(`"xxxx"`), 40); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Errorf("limit: %v", err)
	}
	if _, err := wire.AppendRespondedFrame(nil, "a", json.RawMessage(`{`), 0); err == nil {
		t.Error("invalid output accepted")
	}
}
