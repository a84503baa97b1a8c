package main

import (
	"strings"
	"testing"
)

func TestModuleOf(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"github.com/alknet/alknet/alknet-core/auth":                     "alknet-core",
		"github.com/alknet/alknet/alknet-call/protocol [protocol.test]": "alknet-call",
		"github.com/alknet/alknet/tools/bench":                          "tools/bench",
		"github.com/alknet/alknet/tools/bench/internal/echo":            "tools/bench",
		"github.com/quic-go/quic-go":                                    "",
		"net/http":                                                      "",
	}
	for in, want := range cases {
		if got := moduleOf(in); got != want {
			t.Errorf("moduleOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	const p = modulePrefix
	cases := []struct {
		name string
		pkgs []pkg
		want []string // substrings, one per expected violation
	}{
		{"call imports core", []pkg{{ImportPath: p + "alknet-call/protocol", Imports: []string{p + "alknet-core/conn"}}}, nil},
		{"cli imports everything", []pkg{{ImportPath: p + "alknet-cli/internal/cli", Imports: []string{p + "alknet-vault/vault", p + "alknet-peer-store-sqlite/sqlitestore"}}}, nil},
		{"call imports vault", []pkg{{ImportPath: p + "alknet-call/protocol", Imports: []string{p + "alknet-vault/vault"}}}, []string{"may not import alknet-vault"}},
		{"core imports call", []pkg{{ImportPath: p + "alknet-core/auth", Imports: []string{p + "alknet-call/wire"}}}, []string{"may not import alknet-call"}},
		{"store imports call", []pkg{{ImportPath: p + "alknet-peer-store-sqlite/sqlitestore", Imports: []string{p + "alknet-call/wire"}}}, []string{"may not import alknet-call"}},
		{"tools import cli", []pkg{{ImportPath: p + "tools/bench", Imports: []string{p + "alknet-cli/internal/cli"}}}, []string{"may not import alknet-cli"}},
		{"core imports sqlite", []pkg{{ImportPath: p + "alknet-core/store", Imports: []string{"database/sql", "github.com/mattn/go-sqlite3"}}}, []string{"database/sql", "go-sqlite3"}},
		{"core imports zerolog subpackage", []pkg{{ImportPath: p + "alknet-core/endpoint", Imports: []string{"github.com/rs/zerolog/log"}}}, []string{"zerolog"}},
		{"third-party packages are not checked", []pkg{{ImportPath: "github.com/spf13/cobra", Imports: []string{"database/sql"}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := check(tc.pkgs)
			if len(got) != len(tc.want) {
				t.Fatalf("check() = %q, want %d violation(s)", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}

func TestDecodePackages(t *testing.T) {
	t.Parallel()
	in := `{"ImportPath":"a","Imports":["b"]}
{"ImportPath":"b","Module":{"Path":"m"}}`
	pkgs, err := decodePackages(strings.NewReader(in))
	if err != nil || len(pkgs) != 2 || pkgs[0].Imports[0] != "b" || pkgs[1].Module.Path != "m" {
		t.Fatalf("decodePackages = %+v, %v", pkgs, err)
	}
	if _, err := decodePackages(strings.NewReader(`{"ImportPath":`)); err == nil {
		t.Fatal("decodePackages accepted truncated JSON")
	}
}
