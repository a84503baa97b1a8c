//go:build unix

package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// checkOwner fails with STORE_UNAVAILABLE when the effective user does not own the store file
// (PSTORE-R22). It runs before SQLite opens the file.
func checkOwner(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return newErr(CodeUnavailable, "stat peer store ("+path+")", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	euid := os.Geteuid()
	if int(st.Uid) == euid {
		return nil
	}
	owner := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	return newErr(CodeUnavailable, fmt.Sprintf(
		"peer store (%s) is owned by %s, not by the current user (uid %d); run management as the owner: sudo -u %s alknet ...",
		path, owner, euid, owner), nil)
}

// isReadOnlyFS reports a read-only file system error.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// writeAccessErrno reports why the current user cannot write path (a directory or a file):
// syscall.EROFS on a read-only file system, syscall.EACCES or EPERM when permissions deny it, or 0.
func writeAccessErrno(path string) syscall.Errno {
	var en syscall.Errno
	if errors.As(syscall.Access(path, 2 /* W_OK */), &en) {
		return en
	}
	return 0
}
