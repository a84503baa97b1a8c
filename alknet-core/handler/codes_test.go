package handler_test

import (
	"testing"

	"github.com/alknet/alknet/alknet-core/coretest"
	"github.com/alknet/alknet/alknet-core/handler"
)

func TestCodesDocumented(t *testing.T) {
	t.Parallel()
	coretest.CheckErrorCodes(t, "alknet-core", handler.Codes())
}
