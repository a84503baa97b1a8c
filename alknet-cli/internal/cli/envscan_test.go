package cli_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envFuncs are the calls that read the environment; homeFuncs those that derive locations from
// it (CLI-R20).
var (
	envFuncs  = map[string]map[string]bool{"os": {"Getenv": true, "LookupEnv": true, "Environ": true, "ExpandEnv": true}, "syscall": {"Getenv": true, "Environ": true}}
	homeFuncs = map[string]map[string]bool{"os": {"UserHomeDir": true, "UserConfigDir": true, "UserCacheDir": true}}
)

// scanEnv reports every environment access in the non-test Go files below root that CLI-R20
// forbids there: environment reads outside internal/paths and internal/output, home-directory
// lookups outside internal/paths. Import aliases are followed.
func scanEnv(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		inPaths := strings.HasPrefix(rel, "internal/paths/")
		inOutput := strings.HasPrefix(rel, "internal/output/")
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local name -> import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := filepath.Base(p)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			names[local] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			pkg := names[id.Name]
			if envFuncs[pkg][sel.Sel.Name] && !inPaths && !inOutput || homeFuncs[pkg][sel.Sel.Name] && !inPaths {
				found = append(found, fset.Position(sel.Pos()).String()+": "+pkg+"."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// CLI-T4, CLI-R19, CLI-R20: no alknet setting and no secret comes from the environment.
func TestNoEnvironmentReads(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	if found := scanEnv(t, root); len(found) > 0 {
		t.Fatalf("environment access outside internal/paths and internal/output (CLI-R20):\n%s", strings.Join(found, "\n"))
	}
}

// CLI-T4: the scan detects planted violations, also through an import alias, and honours the
// two allowed packages.
func TestEnvironmentScanDetects(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("internal/cli/bad.go", "package cli\nimport \"os\"\nfunc f() string { return os.Getenv(\"ALKNET_PASSPHRASE\") }\n")
	write("internal/cli/alias.go", "package cli\nimport sys \"syscall\"\nfunc g() ([]string) { return sys.Environ() }\n")
	write("internal/output/home.go", "package output\nimport \"os\"\nfunc h() { _, _ = os.UserHomeDir() }\n")
	write("internal/output/ok.go", "package output\nimport \"os\"\nfunc i() string { return os.Getenv(\"NO_COLOR\") }\n")
	write("internal/paths/ok.go", "package paths\nimport \"os\"\nfunc j() { _, _ = os.UserHomeDir(); _ = os.Getenv(\"HOME\") }\n")
	write("internal/cli/bad_test.go", "package cli\nimport \"os\"\nfunc k() string { return os.Getenv(\"X\") }\n")
	found := scanEnv(t, root)
	want := []string{"bad.go:3:26: os.Getenv", "alias.go:3:30: syscall.Environ", "home.go:3:19: os.UserHomeDir"}
	if len(found) != len(want) {
		t.Fatalf("found %v, want %d violations", found, len(want))
	}
	for _, w := range want {
		ok := false
		for _, f := range found {
			ok = ok || strings.HasSuffix(f, w)
		}
		if !ok {
			t.Errorf("violation %q not reported; found %v", w, found)
		}
	}
}
