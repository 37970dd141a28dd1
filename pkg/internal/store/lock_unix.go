//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes the lock bbolt takes on a store file (flock, exclusive),
// without waiting, so Recover never copies, renames or replaces a file a
// running gateway is writing. The lock lasts until f is closed.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("the file is in use by another gateway? (it holds the lock; stop it first)")
	}
	return err
}
