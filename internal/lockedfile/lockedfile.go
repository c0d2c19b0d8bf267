// Package lockedfile changes small state files that several processes share (the running
// gateway and the command line): every change is made under an exclusive lock on a sibling
// ".lock" file, from a fresh read, and written atomically (temp file, fsync, rename), so a
// reader sees the old file or the new one, never a part.
package lockedfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Update reads path (nil if it does not exist), lets f change it, and writes what f returns,
// all under the lock. The lock is held while f runs, so f may read and write other files
// that the same lock guards.
func Update(path string, f func(old []byte) ([]byte, error)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lk, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lk.Close()
	if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lk.Name(), err)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	b, err := f(old)
	if err != nil {
		return err
	}
	return Write(path, b)
}

// Write replaces path with b atomically, mode 0600.
func Write(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
