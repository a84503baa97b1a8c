package config

import "github.com/alknet/alknet/alknet-core/alkerr"

// ErrInvalid matches every configuration validation failure (CONFIG_INVALID). The message of
// the returned error lists every problem with its field path (CORE-R1007).
var ErrInvalid = alkerr.New(alkerr.CodeConfigInvalid, "invalid configuration")

// codes lists the codes this package returns; a test checks each appears in docs/errors.md.
var codes = []alkerr.Code{
	alkerr.CodeConfigInvalid,
	alkerr.CodeAuthRequired,
}
