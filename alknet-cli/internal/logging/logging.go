// Package logging builds the command's one zerolog logger and the slog.Handler that writes to
// it (cli.md §10, CLI-R58..R61). Every library module takes a *slog.Logger; the *slog.Logger
// made here is the one they all receive. Nothing here touches zerolog's package-level settings
// or slog's default logger: both are process globals.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// LevelTrace is the slog level written as zerolog "trace" (any level below Debug is trace).
const LevelTrace = slog.Level(-8)

// timeLayout is RFC 3339 in UTC with milliseconds (CLI-R58, CLI-R59).
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// ParseLevel reads a level name: trace, debug, info, warn or error (CLI-R59).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (use trace, debug, info, warn or error)", s)
}

// Lower returns level lowered by steps named levels (each -v flag is one step), never below
// trace (CLI-R59).
func Lower(level slog.Level, steps int) slog.Level {
	ladder := []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, LevelTrace}
	i := 0
	for i < len(ladder)-1 && ladder[i] > level {
		i++
	}
	i += steps
	if i >= len(ladder) {
		i = len(ladder) - 1
	}
	if steps <= 0 {
		return level
	}
	return ladder[i]
}

// Options configure New.
type Options struct {
	Writer  io.Writer      // where records go (stderr); nil discards
	Level   *slog.LevelVar // threshold; nil means info. A reload stores a new value (CLI-R58).
	Console bool           // zerolog's console writer instead of JSON lines
	Color   bool           // colour in console mode
}

// New returns the slog logger that writes through one zerolog logger. The zerolog logger itself
// stays at trace; the threshold is the handler's LevelVar. Writes to o.Writer are serialised, so
// any writer may be used from many goroutines.
func New(o Options) *slog.Logger {
	w := o.Writer
	if w == nil {
		w = io.Discard
	}
	if o.Console {
		w = zerolog.ConsoleWriter{Out: w, NoColor: !o.Color, TimeFormat: timeLayout, TimeLocation: time.UTC}
	}
	// Records come from many goroutines; zerolog does not serialise writes itself.
	w = zerolog.SyncWriter(w)
	lv := o.Level
	if lv == nil {
		lv = new(slog.LevelVar)
	}
	return slog.New(NewHandler(zerolog.New(w).Level(zerolog.TraceLevel), lv))
}

// Handler is an slog.Handler writing to a zerolog.Logger (CLI-R58): levels below Debug become
// trace, groups become nested objects, LogValuer values are resolved before zerolog sees them
// (so redacting types stay redacted), and a zero record time is omitted. It is safe for
// concurrent use.
type Handler struct {
	zl    zerolog.Logger
	level slog.Leveler
	goas  []groupOrAttrs // WithGroup / WithAttrs calls, in order
}

type groupOrAttrs struct {
	group string      // non-empty for WithGroup
	attrs []slog.Attr // for WithAttrs
}

// NewHandler returns a handler writing to zl with the threshold level (nil means info).
func NewHandler(zl zerolog.Logger, level slog.Leveler) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{zl: zl, level: level}
}

// Enabled reports whether records at l pass the threshold.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs returns a handler that adds attrs to every record, inside the current groups.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(groupOrAttrs{attrs: attrs})
}

// WithGroup returns a handler that nests later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(groupOrAttrs{group: name})
}

func (h *Handler) with(g groupOrAttrs) *Handler {
	h2 := *h
	h2.goas = append(h.goas[:len(h.goas):len(h.goas)], g)
	return &h2
}

// zerologLevel maps slog levels to zerolog levels (CLI-R58).
func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l < slog.LevelDebug:
		return zerolog.TraceLevel
	case l < slog.LevelInfo:
		return zerolog.DebugLevel
	case l < slog.LevelWarn:
		return zerolog.InfoLevel
	case l < slog.LevelError:
		return zerolog.WarnLevel
	}
	return zerolog.ErrorLevel
}

// Handle writes one record.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	ev := h.zl.WithLevel(zerologLevel(r.Level))
	if ev == nil {
		return nil
	}
	if !r.Time.IsZero() {
		ev.Str(zerolog.TimestampFieldName, r.Time.UTC().Format(timeLayout))
	}
	var rec []slog.Attr
	if r.NumAttrs() > 0 {
		rec = make([]slog.Attr, 0, r.NumAttrs())
		r.Attrs(func(a slog.Attr) bool { rec = append(rec, a); return true })
	}
	appendGoas(ev, h.goas, rec)
	ev.Msg(r.Message)
	return nil
}

// appendGoas writes the handler's attributes and groups, then the record's attributes in the
// innermost group. It reports whether anything was written, so empty groups are left out.
func appendGoas(e *zerolog.Event, goas []groupOrAttrs, rec []slog.Attr) bool {
	wrote := false
	for i, g := range goas {
		if g.group != "" {
			d := zerolog.Dict()
			if appendGoas(d, goas[i+1:], rec) {
				e.Dict(g.group, d)
				return true
			}
			return wrote
		}
		for _, a := range g.attrs {
			wrote = appendAttr(e, a) || wrote
		}
	}
	for _, a := range rec {
		wrote = appendAttr(e, a) || wrote
	}
	return wrote
}

// appendAttr writes one attribute, resolving LogValuers first. Empty attributes and empty
// groups write nothing; a group with an empty key is inlined (slog's rules).
func appendAttr(e *zerolog.Event, a slog.Attr) bool {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return false
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		attrs := v.Group()
		if len(attrs) == 0 {
			return false
		}
		if a.Key == "" {
			wrote := false
			for _, x := range attrs {
				wrote = appendAttr(e, x) || wrote
			}
			return wrote
		}
		d := zerolog.Dict()
		wrote := false
		for _, x := range attrs {
			wrote = appendAttr(d, x) || wrote
		}
		if wrote {
			e.Dict(a.Key, d)
		}
		return wrote
	case slog.KindString:
		e.Str(a.Key, v.String())
	case slog.KindInt64:
		e.Int64(a.Key, v.Int64())
	case slog.KindUint64:
		e.Uint64(a.Key, v.Uint64())
	case slog.KindFloat64:
		e.Float64(a.Key, v.Float64())
	case slog.KindBool:
		e.Bool(a.Key, v.Bool())
	case slog.KindDuration:
		e.Str(a.Key, v.Duration().String())
	case slog.KindTime:
		e.Str(a.Key, v.Time().UTC().Format(timeLayout))
	default:
		switch x := v.Any().(type) {
		case error:
			e.Str(a.Key, x.Error())
		case fmt.Stringer:
			e.Str(a.Key, x.String())
		default:
			e.Interface(a.Key, x)
		}
	}
	return true
}

// StdWriter adapts the standard library's log package to l: each written line becomes one
// record at warn with the given component (CLI-R50: quic-go prints its UDP buffer warning
// through package log).
func StdWriter(l *slog.Logger, component string) io.Writer {
	return stdWriter{l: l.With("component", component)}
}

type stdWriter struct{ l *slog.Logger }

func (w stdWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
