package cli

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// parseResource reads a --resource / --set-resource value "TYPE=a,b" (cli.md §7.5): a
// non-empty type, then one or more non-empty names separated by commas.
func parseResource(s string) (string, []string, error) {
	typ, list, ok := strings.Cut(s, "=")
	typ = strings.TrimSpace(typ)
	if !ok || typ == "" || strings.TrimSpace(list) == "" {
		return "", nil, output.Errorf(output.CodeInvalidInput, "resource %q: write TYPE=name[,name...]", s)
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return "", nil, output.Errorf(output.CodeInvalidInput, "resource %q has an empty name", s)
		}
		names = append(names, n)
	}
	return typ, names, nil
}

// parseExpires reads --expires WHEN (cli.md §7.6): "<n>d", a Go duration, a date YYYY-MM-DD
// (midnight UTC) or an RFC 3339 timestamp. The result is rounded up to whole Unix seconds and
// must lie in the future.
func parseExpires(when string, now time.Time) (int64, error) {
	bad := func(format string, args ...any) (int64, error) {
		return 0, output.Errorf(output.CodeInvalidInput, "--expires %q: "+format, append([]any{when}, args...)...)
	}
	var at time.Time
	switch {
	case strings.HasSuffix(when, "d") && len(when) > 1 && isDigits(when[:len(when)-1]):
		n, err := strconv.ParseInt(when[:len(when)-1], 10, 64)
		if err != nil || n <= 0 || n > 100*365 {
			return bad("a number of days between 1 and 36500")
		}
		at = now.Add(time.Duration(n) * 24 * time.Hour)
	default:
		if d, err := time.ParseDuration(when); err == nil {
			if d <= 0 {
				return bad("the time must be in the future")
			}
			at = now.Add(d)
		} else if t, err := time.Parse("2006-01-02", when); err == nil {
			at = t
		} else if t, err := time.Parse(time.RFC3339, when); err == nil {
			at = t
		} else {
			return bad("use <n>d, a duration such as 12h, a date YYYY-MM-DD or an RFC 3339 time")
		}
	}
	if !at.After(now) {
		return bad("the time must be in the future")
	}
	secs := at.Unix()
	if at.Nanosecond() > 0 && secs < math.MaxInt64 {
		secs++
	}
	return secs, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// rfc3339 formats t in UTC (CLI-R54), or returns nil for the zero time.
func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// unixRFC3339 formats Unix seconds, or nil.
func unixRFC3339(s *int64) *string {
	if s == nil {
		return nil
	}
	return rfc3339(time.Unix(*s, 0))
}

func humanTime(t *string) string {
	if t == nil {
		return "-"
	}
	return *t
}

// ago formats an RFC 3339 time as a human age ("2h ago", CLI-R56); "-" for none.
func ago(t *string, now time.Time) string {
	if t == nil {
		return "-"
	}
	at, err := time.Parse(time.RFC3339, *t)
	if err != nil {
		return *t
	}
	d := now.Sub(at)
	switch {
	case d < 0:
		return "in " + shortDuration(-d)
	case d < time.Minute:
		return "just now"
	}
	return shortDuration(d) + " ago"
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}
