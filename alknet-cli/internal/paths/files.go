package paths

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// DirMode is the mode of every directory the command creates; FileMode that of the keystore,
// lock, reload-status, ready and written config files (CLI-R7).
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// EnsureDir creates dir and any missing parents with mode 0700 (CLI-R7) and returns the
// directories it created, outermost first, so a failed command can remove exactly those
// (cli.md §7.1: a pre-existing directory is never touched).
func EnsureDir(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("create directory %s: %s is not a directory", dir, d)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("create directory %s: %w", dir, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	created := make([]string, 0, len(missing))
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], DirMode); err != nil && !errors.Is(err, os.ErrExist) {
			return created, fmt.Errorf("create directory %s: %w", missing[i], err)
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// WriteAtomic replaces path with data (CLI-R9): it writes a temporary file in the same
// directory with mode perm, fsyncs it, renames it over path and fsyncs the directory. A crash
// leaves either the old or the new content, never a mix.
func WriteAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so a rename or creation inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Owner returns the uid owning fi, and false where the platform does not report one.
func Owner(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}

// UserName returns the login name of uid, or its number when the user database has none.
func UserName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

// CheckOwner verifies that the effective user owns path before the command opens it
// (CLI-R8). A missing file passes (the caller decides whether it may be created). Another
// owner is WRONG_OWNER (exit 6) with the `sudo -u <owner> alknet …` hint.
func CheckOwner(path, what string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %s %s: %w", what, path, err)
	}
	uid, ok := Owner(fi)
	if !ok || uid == uint32(os.Geteuid()) {
		return nil
	}
	owner := UserName(uid)
	return output.Errorf(output.CodeWrongOwner, "%s %s is owned by %s, not by the current user", what, path, owner).
		WithHint(fmt.Sprintf("run the command as its owner: sudo -u %s alknet …", owner))
}
