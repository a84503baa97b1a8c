//go:build !cgo

package sqlitestore

// The SQLite driver (github.com/mattn/go-sqlite3) is a cgo package: without cgo it compiles a stub
// whose every open fails at run time. This file turns that into a build error naming the fix
// (PSTORE-R83): install a C compiler (gcc) and build with CGO_ENABLED=1.
var _ = sqlitestore_requires_cgo__install_gcc_and_build_with_CGO_ENABLED_1
