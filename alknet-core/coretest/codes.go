package coretest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// CheckErrorCodes fails t unless codes are unique and each appears, in backquotes, in the
// section of docs/errors.md headed "## <module>" (conventions: "Errors with stable codes").
// docs/errors.md is found by walking up from the working directory.
func CheckErrorCodes(t testing.TB, module string, codes []alkerr.Code) {
	t.Helper()
	doc := findErrorsDoc(t)
	section := doc
	if i := strings.Index(section, "\n## "+module+"\n"); i >= 0 {
		section = section[i+1:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
	} else {
		t.Fatalf("docs/errors.md has no section %q", "## "+module)
	}
	seen := make(map[alkerr.Code]bool)
	for _, c := range codes {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !strings.Contains(section, "`"+string(c)+"`") {
			t.Errorf("code %s missing from the %s section of docs/errors.md", c, module)
		}
	}
}

func findErrorsDoc(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "docs", "errors.md"))
		if err == nil {
			return string(b)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("docs/errors.md not found above the working directory")
		}
		dir = parent
	}
}
