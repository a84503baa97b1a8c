package sqlitestore

import (
	"fmt"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/store"
)

// Codes added by this adapter (PSTORE-R82). Each is a stable identifier printed by the CLI's
// --json output; never rename or reuse one. Core's store codes (STORE_BACKEND, STORE_NOT_FOUND,
// STORE_SERIALIZATION, STORE_INVALID) are used through core's sentinels in package store.
const (
	// CodeConflict: the record already exists, a fingerprint or token hash belongs to another
	// record, the API-key prefix space is exhausted, or a backup target exists. Also matches
	// store.ErrInvalid.
	CodeConflict alkerr.Code = "STORE_CONFLICT"
	// CodeBusy: the write lock was not obtained within Options.BusyTimeout (retryable).
	CodeBusy alkerr.Code = "STORE_BUSY"
	// CodeCorrupt: the file is not a SQLite database or failed an integrity check.
	CodeCorrupt alkerr.Code = "STORE_CORRUPT"
	// CodeForeign: a SQLite database that is not an alknet store.
	CodeForeign alkerr.Code = "STORE_FOREIGN"
	// CodeSchemaTooNew: the store was written by a newer alknet; upgrade alknet.
	CodeSchemaTooNew alkerr.Code = "STORE_SCHEMA_TOO_NEW"
	// CodeSchemaOutdated: the store needs migrations that were not applied.
	CodeSchemaOutdated alkerr.Code = "STORE_SCHEMA_OUTDATED"
	// CodeReadOnly: the store cannot be written (a ReadOnly store, a read-only file or file system).
	CodeReadOnly alkerr.Code = "STORE_READ_ONLY"
	// CodeUnavailable: the file cannot be opened, belongs to another user, or is no longer the
	// file at the path (replaced or removed while open).
	CodeUnavailable alkerr.Code = "STORE_UNAVAILABLE"
	// CodeNotInitialized: the file does not exist and Options.Create is false.
	CodeNotInitialized alkerr.Code = "STORE_NOT_INITIALIZED"
	// CodeClosed: the store was used after Close.
	CodeClosed alkerr.Code = "STORE_CLOSED"
)

// Sentinels for the adapter's codes. errors.Is(err, ErrBusy) matches any error carrying
// STORE_BUSY; errors returned by the store also match the core sentinel named in each comment.
var (
	ErrConflict       = &alkerr.Error{Code: CodeConflict, Message: "conflict"}              // also store.ErrInvalid
	ErrBusy           = &alkerr.Error{Code: CodeBusy, Message: "store is busy"}             // also store.ErrBackend
	ErrCorrupt        = &alkerr.Error{Code: CodeCorrupt, Message: "store is corrupt"}       // also store.ErrBackend
	ErrForeign        = &alkerr.Error{Code: CodeForeign, Message: "not an alknet store"}    // also store.ErrBackend
	ErrSchemaTooNew   = &alkerr.Error{Code: CodeSchemaTooNew, Message: "schema too new"}    // also store.ErrBackend
	ErrSchemaOutdated = &alkerr.Error{Code: CodeSchemaOutdated, Message: "schema outdated"} // also store.ErrBackend
	ErrReadOnly       = &alkerr.Error{Code: CodeReadOnly, Message: "store is read-only"}    // also store.ErrBackend
	ErrUnavailable    = &alkerr.Error{Code: CodeUnavailable, Message: "store unavailable"}  // also store.ErrBackend
	ErrNotInitialized = &alkerr.Error{Code: CodeNotInitialized, Message: "store not found"} // also store.ErrBackend
	ErrClosed         = &alkerr.Error{Code: CodeClosed, Message: "store is closed"}         // also store.ErrBackend
)

// allCodes lists every code this package can return, for the docs/errors.md test.
var allCodes = []alkerr.Code{
	CodeConflict, CodeBusy, CodeCorrupt, CodeForeign, CodeSchemaTooNew, CodeSchemaOutdated,
	CodeReadOnly, CodeUnavailable, CodeNotInitialized, CodeClosed,
	alkerr.CodeStoreBackend, alkerr.CodeStoreNotFound, alkerr.CodeStoreSerialization,
	alkerr.CodeStoreInvalid,
}

// coreSentinel returns the core sentinel an adapter code wraps (PSTORE-R82, §13).
func coreSentinel(c alkerr.Code) error {
	if c == CodeConflict {
		return store.ErrInvalid
	}
	return store.ErrBackend
}

// newErr builds an error of an adapter code: the outer *alkerr.Error carries the specific code,
// and errors.Is still reaches the core sentinel and the cause through the two-%w wrapper.
func newErr(c alkerr.Code, msg string, cause error) error {
	inner := coreSentinel(c)
	if cause != nil {
		inner = fmt.Errorf("%w: %w", inner, cause)
	}
	return &alkerr.Error{Code: c, Message: msg, Err: inner}
}

// coreErr builds an error with one of core's own store codes (STORE_BACKEND, STORE_NOT_FOUND,
// STORE_SERIALIZATION, STORE_INVALID).
func coreErr(code alkerr.Code, msg string, cause error) error {
	return &alkerr.Error{Code: code, Message: msg, Err: cause}
}
