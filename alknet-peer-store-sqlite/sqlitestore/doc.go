// Package sqlitestore keeps alknet peers, API keys and encrypted credentials in one SQLite file
// and serves them to a running node.
//
// It implements alknet-core's repository interfaces over that file: [Identities] is an
// auth.IdentityStore and auth.ChangeNotifier, [Credentials] is a store.CredentialStore and
// store.CredentialLister. Reads (identity resolution, Credentials.Get) answer from immutable
// in-memory snapshots and never block on I/O; writes run in one SQLite transaction each and make
// the writing process see their effect before they return. Changes made by other processes (the
// CLI, a hand edit with the sqlite3 shell) reach a running store within one poll interval through
// PRAGMA data_version polling and trigger-maintained change counters.
//
// The driver is github.com/mattn/go-sqlite3, which needs cgo and a C compiler; building this
// package with CGO_ENABLED=0 fails with a message that names the fix.
//
// Every error this package returns for a failure an operator may act on carries a stable code
// (see codes.go and docs/errors.md); messages name the file and the entity and never contain a
// token, a token hash or credential bytes.
package sqlitestore
