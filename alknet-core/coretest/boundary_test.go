package coretest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// CORE-T1206, CORE-R001: no package of the module (tests excluded) depends on a database, an
// HTTP stack, a CLI framework, a logging library or another alknet module.
func TestModuleBoundary(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/alknet/alknet/alknet-core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"database/sql", "net/http",
		"github.com/mattn/go-sqlite3", "modernc.org/sqlite", "github.com/lib/pq", "github.com/jackc/pgx",
		"github.com/go-sql-driver/mysql", "github.com/spf13/cobra", "github.com/rs/zerolog",
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed no packages")
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("alknet-core depends on %s", dep)
			}
		}
		if strings.HasPrefix(dep, "github.com/alknet/alknet/") && !strings.HasPrefix(dep, "github.com/alknet/alknet/alknet-core/") {
			t.Errorf("alknet-core depends on another alknet module: %s", dep)
		}
	}
}
