package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/config"
)

// CLI-F1: the decoder and validator never panic; they return a configuration or positioned
// problems, and an accepted configuration survives a marshal round trip.
func FuzzParse(f *testing.F) {
	f.Add(config.Template("127.0.0.1:4433"))
	f.Add([]byte(""))
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".toml" {
			b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, tc := range problemCases {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, _, err := config.Parse(doc, "fuzz.toml")
		if err != nil {
			if _, ok := errors.AsType[*config.Error](err); !ok {
				t.Fatalf("Parse(%q) returned %T, want *config.Error", doc, err)
			}
			return
		}
		b, err := config.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of accepted %q: %v", doc, err)
		}
		if _, _, err := config.Parse(b, "again.toml"); err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", b, doc, err)
		}
	})
}
