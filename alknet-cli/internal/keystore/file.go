package keystore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
)

// ErrNotInitialized reports a missing keystore; it matches errors.Is(err, os.ErrNotExist).
var ErrNotInitialized = &output.Error{Code: output.CodeNotInitialized, Message: "no keystore",
	Hint: "run `alknet init` to create one", Err: os.ErrNotExist}

// Load reads the keystore at path. The effective user must own it (CLI-R8, WRONG_OWNER); an
// unprotected keystore with any group or other permission bit is refused (CLI-R30,
// INSECURE_PERMISSIONS), a protected one is accepted with a warning. A missing file is
// NOT_INITIALIZED (exit 12).
func Load(path string) (f *File, warnings []string, err error) {
	if err := paths.CheckOwner(path, "keystore"); err != nil {
		return nil, nil, err
	}
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		e := *ErrNotInitialized
		e.Message = "no keystore at " + path
		return nil, nil, &e
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open keystore %s: %w", path, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("inspect keystore %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	defer clear(data)
	if err != nil {
		return nil, nil, fmt.Errorf("read keystore %s: %w", path, err)
	}
	f, err = Parse(data)
	if err != nil {
		if e, ok := errors.AsType[*output.Error](err); ok {
			e.Message = e.Message + " (" + path + ")"
		}
		return nil, nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if !f.Protected() {
			f.Wipe()
			return nil, nil, output.Errorf(output.CodeInsecurePermissions,
				"unprotected keystore %s has mode %04o: other users could read the mnemonic", path, perm).
				WithHint("chmod 600 " + path)
		}
		warnings = append(warnings, fmt.Sprintf("keystore %s has mode %04o; run chmod 600 %s", path, perm, path))
	}
	return f, warnings, nil
}

// Save writes f to path atomically with mode 0600 (CLI-R9, CLI-R31) and wipes the encoded
// buffer.
func Save(path string, f *File) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	defer clear(b)
	return paths.WriteAtomic(path, b, paths.FileMode)
}

// Backup renames an existing keystore to <path>.bak-<UTC timestamp> before `init --force`
// replaces it (CLI-R31) and returns the new name.
func Backup(path string, now time.Time) (string, error) {
	dst := path + ".bak-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("back up keystore %s: %w", path, err)
	}
	return dst, nil
}
