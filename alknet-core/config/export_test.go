package config

import "github.com/alknet/alknet/alknet-core/alkerr"

// Codes exposes the package's code list to the external tests.
func Codes() []alkerr.Code { return codes }
