package store

import "github.com/alknet/alknet/alknet-core/alkerr"

// Sentinel errors of package store; match them with errors.Is (CORE-R010).
var (
	// ErrBackend (STORE_BACKEND): a store backend failed (I/O, locked or corrupt
	// database). Never reported as not-found (CORE-R1211).
	ErrBackend = alkerr.New(alkerr.CodeStoreBackend, "store backend failed")
	// ErrNotFound (STORE_NOT_FOUND): an update or remove targeted a record that does not
	// exist.
	ErrNotFound = alkerr.New(alkerr.CodeStoreNotFound, "record not found")
	// ErrSerialization (STORE_SERIALIZATION): a stored blob could not be encoded or
	// decoded (CORE-R1204).
	ErrSerialization = alkerr.New(alkerr.CodeStoreSerialization, "blob could not be encoded or decoded")
	// ErrInvalid (STORE_INVALID): a value handed to a store failed validation.
	ErrInvalid = alkerr.New(alkerr.CodeStoreInvalid, "invalid value")
)

// Codes returns the codes of the sentinels this package owns.
func Codes() []alkerr.Code {
	return []alkerr.Code{
		alkerr.CodeStoreBackend, alkerr.CodeStoreNotFound, alkerr.CodeStoreSerialization, alkerr.CodeStoreInvalid,
	}
}
