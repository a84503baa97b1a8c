package config_test

import (
	"testing"

	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-core/coretest"
)

func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	coretest.CheckErrorCodes(t, "alknet-core", config.Codes())
}
