package main

import (
	"fmt"
	"sort"
	"strings"
)

// modulePrefix is the common prefix of every module path in the workspace.
const modulePrefix = "github.com/alknet/alknet/"

// allowed lists, for each alknet module, the sibling modules it may import (spec README, "Module
// dependency graph"). A module missing from the map may import any sibling except alknet-cli.
var allowed = map[string][]string{
	"alknet-core":              nil,
	"alknet-vault":             nil,
	"alknet-call":              {"alknet-core"},
	"alknet-peer-store-sqlite": {"alknet-core"},
	"alknet-http":              {"alknet-core", "alknet-call"},
	"alknet-cli":               {"alknet-core", "alknet-call", "alknet-vault", "alknet-http", "alknet-peer-store-sqlite"},
}

// forbiddenInCore lists import-path prefixes alknet-core must never depend on, test code included
// (CORE-R001).
var forbiddenInCore = []string{
	"database/sql",
	"github.com/mattn/go-sqlite3",
	"modernc.org/sqlite",
	"github.com/ncruces/go-sqlite3",
	"github.com/jackc/pgx",
	"github.com/lib/pq",
	"github.com/spf13/cobra",
	"github.com/rs/zerolog",
	"github.com/gin-gonic/gin",
	"github.com/labstack/echo",
	"github.com/go-chi/chi",
	"github.com/gorilla/mux",
	"github.com/gofiber/fiber",
}

// moduleOf returns the workspace module directory that owns importPath, or "" when the path is
// not part of the workspace. Test variants ("p [p.test]") are reduced to their package path.
func moduleOf(importPath string) string {
	importPath, _, _ = strings.Cut(importPath, " ")
	rest, ok := strings.CutPrefix(importPath, modulePrefix)
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, "tools/") {
		dir, _, _ := strings.Cut(strings.TrimPrefix(rest, "tools/"), "/")
		return "tools/" + dir
	}
	dir, _, _ := strings.Cut(rest, "/")
	return dir
}

// check returns one line per import edge that breaks the graph.
func check(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from := moduleOf(p.ImportPath)
		if from == "" {
			continue
		}
		for _, imp := range p.Imports {
			to := moduleOf(imp)
			if from == "alknet-core" {
				for _, bad := range forbiddenInCore {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						out = append(out, fmt.Sprintf("%s imports %s: alknet-core must not depend on it (CORE-R001)", p.ImportPath, imp))
					}
				}
			}
			if to == "" || to == from {
				continue
			}
			if !edgeAllowed(from, to) {
				out = append(out, fmt.Sprintf("%s imports %s: module %s may not import %s", p.ImportPath, imp, from, to))
			}
		}
	}
	return out
}

func edgeAllowed(from, to string) bool {
	if to == "alknet-cli" {
		return false
	}
	mods, ok := allowed[from]
	if !ok {
		return true
	}
	for _, m := range mods {
		if m == to {
			return true
		}
	}
	return false
}

func dedupe(lines []string) []string {
	sort.Strings(lines)
	out := lines[:0]
	for i, l := range lines {
		if i == 0 || l != lines[i-1] {
			out = append(out, l)
		}
	}
	return out
}
