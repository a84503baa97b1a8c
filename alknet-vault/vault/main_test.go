package vault_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(fipsChildEnv) == "1" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
