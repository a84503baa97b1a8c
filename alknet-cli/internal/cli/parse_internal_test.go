package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var resourceSeeds = []string{"service=gitea,drone", "a=b", "=x", "t=", "t=a,,b", " t = a , b ", "noequals"}

var expiresSeeds = []string{"30d", "3s", "12h", "90m", "2027-01-01", "2027-01-01T00:00:00Z", "0d", "-1h", "2001-01-01", "1e9d", "d", "soon"}

func TestParseResource(t *testing.T) {
	t.Parallel()
	typ, names, err := parseResource(" service = gitea , drone ")
	if err != nil || typ != "service" || strings.Join(names, "|") != "gitea|drone" {
		t.Fatalf("parseResource = %q %q %v", typ, names, err)
	}
	for _, bad := range []string{"=x", "t=", "t=a,,b", "noequals"} {
		if _, _, err := parseResource(bad); err == nil {
			t.Errorf("parseResource(%q) accepted", bad)
		}
	}
}

// cli.md §7.6: relative times, dates and timestamps, rounded up to whole seconds, future only.
func TestParseExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 1, 12, 0, 0, 500_000_000, time.UTC)
	cases := map[string]int64{
		"2d":                   now.Add(48*time.Hour).Unix() + 1,
		"3s":                   now.Add(3*time.Second).Unix() + 1,
		"2027-01-01":           time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
		"2027-01-01T00:00:00Z": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
	}
	for in, want := range cases {
		if got, err := parseExpires(in, now); err != nil || got != want {
			t.Errorf("parseExpires(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"0d", "-1h", "2001-01-01", "soon", "d", "2026-07-01T12:00:00Z"} {
		if _, err := parseExpires(bad, now); err == nil {
			t.Errorf("parseExpires(%q) accepted", bad)
		}
	}
}

// CLI-F3: the --resource, --expires and --input parsers never panic; accepted values obey
// their rules.
func FuzzParseResource(f *testing.F) {
	for _, s := range resourceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, names, err := parseResource(s)
		if err != nil {
			return
		}
		if typ == "" || len(names) == 0 {
			t.Fatalf("parseResource(%q) = %q %q", s, typ, names)
		}
		for _, n := range names {
			if n == "" {
				t.Fatalf("empty name from %q", s)
			}
		}
	})
}

func FuzzParseExpires(f *testing.F) {
	for _, s := range expiresSeeds {
		f.Add(s)
	}
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		at, err := parseExpires(s, now)
		if err == nil && at <= now.Unix() {
			t.Fatalf("parseExpires(%q) = %d, not in the future", s, at)
		}
	})
}

func FuzzReadInput(f *testing.F) {
	for _, s := range []string{`{"x":1}`, `null`, `"hello"`, `{nope`, `[1,2`, ` 1 `, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.HasPrefix(s, "@") || s == "-" {
			return // files and stdin are not the parser under test
		}
		inv := &invocation{}
		out, err := inv.readInput(s, true)
		if err == nil && !json.Valid(out) {
			t.Fatalf("readInput(%q) accepted invalid JSON %q", s, out)
		}
	})
}

// CLI-R56: human ages in tables.
func TestAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *string { s := now.Add(d).Format(time.RFC3339); return &s }
	cases := []struct {
		in   *string
		want string
	}{
		{nil, "-"}, {at(-10 * time.Second), "just now"}, {at(-2 * time.Hour), "2h ago"},
		{at(-5 * time.Minute), "5m ago"}, {at(-72 * time.Hour), "3d ago"}, {at(3 * time.Hour), "in 3h"},
	}
	for _, tc := range cases {
		if got := ago(tc.in, now); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
