package logging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/rs/zerolog"

	"github.com/alknet/alknet/alknet-cli/internal/logging"
	"github.com/alknet/alknet/alknet-core/secret"
)

func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// CLI-T37, CLI-R58: the handler passes testing/slogtest. zerolog names the message field
// "message"; the result function renames it to slog's "msg" key, which is all slogtest needs
// to find it.
func TestSlogtest(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(logging.LevelTrace)
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		return logging.NewHandler(zerolog.New(&buf), lv)
	}, func(t *testing.T) map[string]any {
		ls := lines(t, &buf)
		if len(ls) != 1 {
			t.Fatalf("got %d lines, want 1: %q", len(ls), buf.String())
		}
		m := ls[0]
		if msg, ok := m["message"]; ok {
			m[slog.MessageKey] = msg
			delete(m, "message")
		}
		return m
	})
}

// CLI-R58: level mapping, slog −8 is zerolog trace, and the threshold is the LevelVar.
func TestLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(logging.LevelTrace)
	l := slog.New(logging.NewHandler(zerolog.New(&buf), lv))
	ctx := context.Background()
	for _, lvl := range []slog.Level{-8, -6, slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 2, slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		l.Log(ctx, lvl, "m")
	}
	want := []string{"trace", "trace", "debug", "info", "info", "warn", "error", "error"}
	got := lines(t, &buf)
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, m := range got {
		if m["level"] != want[i] {
			t.Errorf("record %d level = %v, want %s", i, m["level"], want[i])
		}
	}
	buf.Reset()
	lv.Set(slog.LevelWarn)
	l.Info("dropped")
	l.Warn("kept")
	if got := lines(t, &buf); len(got) != 1 || got[0]["message"] != "kept" {
		t.Fatalf("after raising the threshold: %v", got)
	}
}

// CLI-R58: time in UTC with milliseconds; groups nest; errors and durations print readably.
func TestFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := logging.NewHandler(zerolog.New(&buf), nil)
	r := slog.NewRecord(time.Date(2026, 7, 1, 14, 0, 0, 123456789, time.FixedZone("x", 3600)), slog.LevelInfo, "hello", 0)
	r.AddAttrs(slog.Int("n", 1), slog.Any("err", errors.New("boom")), slog.Duration("d", 1500*time.Millisecond))
	if err := h.WithAttrs([]slog.Attr{slog.String("component", "endpoint")}).WithGroup("g").Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	m := lines(t, &buf)[0]
	if m["time"] != "2026-07-01T13:00:00.123Z" || m["component"] != "endpoint" {
		t.Fatalf("record = %v", m)
	}
	g, _ := m["g"].(map[string]any)
	if g["n"] != float64(1) || g["err"] != "boom" || g["d"] != "1.5s" {
		t.Fatalf("group = %v", m["g"])
	}
}

// CLI-T37, CLI-R25: a secret logged through slog.Any is [REDACTED] in JSON and console output.
func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	s := secret.NewSecret("alk_supersecretvalue")
	for _, console := range []bool{false, true} {
		var buf bytes.Buffer
		l := logging.New(logging.Options{Writer: &buf, Console: console})
		l.Info("token", slog.Any("token", s), slog.Group("nested", slog.Any("t", s)))
		out := buf.String()
		if strings.Contains(out, "supersecret") || strings.Count(out, secret.Redacted) != 2 {
			t.Fatalf("console=%v output %q", console, out)
		}
	}
}

// CLI-R59: each -v lowers the threshold one step; never below trace.
func TestLower(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from  slog.Level
		steps int
		want  slog.Level
	}{
		{slog.LevelWarn, 0, slog.LevelWarn},
		{slog.LevelWarn, 1, slog.LevelInfo},
		{slog.LevelWarn, 2, slog.LevelDebug},
		{slog.LevelInfo, 1, slog.LevelDebug},
		{slog.LevelInfo, 5, logging.LevelTrace},
	}
	for _, tc := range cases {
		if got := logging.Lower(tc.from, tc.steps); got != tc.want {
			t.Errorf("Lower(%v, %d) = %v, want %v", tc.from, tc.steps, got, tc.want)
		}
	}
	for _, name := range []string{"trace", "debug", "info", "warn", "error"} {
		if _, err := logging.ParseLevel(name); err != nil {
			t.Errorf("ParseLevel(%q): %v", name, err)
		}
	}
	if _, err := logging.ParseLevel("loud"); err == nil {
		t.Error("ParseLevel(loud) succeeded")
	}
}

func TestStdWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := logging.StdWriter(logging.New(logging.Options{Writer: &buf}), "quic-go")
	if _, err := w.Write([]byte("failed to sufficiently increase receive buffer size\n")); err != nil {
		t.Fatal(err)
	}
	m := lines(t, &buf)[0]
	if m["level"] != "warn" || m["component"] != "quic-go" || !strings.HasPrefix(m["message"].(string), "failed") {
		t.Fatalf("record = %v", m)
	}
}
