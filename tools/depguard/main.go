// Command depguard enforces the module dependency graph of the alknet workspace.
//
// It runs `go list -deps -test` in every module named by go.work and fails when an alknet module
// imports a sibling the graph does not allow, or when alknet-core depends on a database driver, an
// HTTP framework, cobra or zerolog. No single module can check this on its own: built with
// GOWORK=off, a module cannot see its siblings. Run it from the repository root:
//
//	go run ./tools/depguard
//
// It prints one line per violation and exits 1 when there is any, 2 when it cannot run.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "depguard:", err)
		os.Exit(2)
	}
	dirs, err := workspaceModules(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "depguard:", err)
		os.Exit(2)
	}
	var violations []string
	for _, dir := range dirs {
		pkgs, err := listDeps(filepath.Join(root, dir))
		if err != nil {
			fmt.Fprintln(os.Stderr, "depguard:", err)
			os.Exit(2)
		}
		violations = append(violations, check(pkgs)...)
	}
	violations = dedupe(violations)
	for _, v := range violations {
		fmt.Println(v)
	}
	if len(violations) > 0 {
		fmt.Printf("depguard: %d violation(s) of the module graph\n", len(violations))
		os.Exit(1)
	}
	fmt.Printf("depguard: %d modules checked, graph respected\n", len(dirs))
}

// workspaceModules returns the module directories that go.work uses, relative to root.
func workspaceModules(root string) ([]string, error) {
	cmd := exec.Command("go", "work", "edit", "-json")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("read go.work: %w", err)
	}
	var w struct {
		Use []struct{ DiskPath string }
	}
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, fmt.Errorf("decode go.work: %w", err)
	}
	dirs := make([]string, 0, len(w.Use))
	for _, u := range w.Use {
		dirs = append(dirs, filepath.Clean(u.DiskPath))
	}
	if len(dirs) == 0 {
		return nil, errors.New("go.work uses no module")
	}
	return dirs, nil
}

// pkg is the part of `go list -json` output that depguard reads.
type pkg struct {
	ImportPath string
	Imports    []string
	Module     *struct{ Path string }
}

// listDeps lists every package the module in dir depends on, test-only imports included.
func listDeps(dir string) ([]pkg, error) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-json=ImportPath,Imports,Module", "./...")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w", dir, err)
	}
	return decodePackages(strings.NewReader(string(out)))
}

func decodePackages(r io.Reader) ([]pkg, error) {
	dec := json.NewDecoder(r)
	var pkgs []pkg
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}
