package store

import (
	"errors"
	"fmt"
	"os"
)

// precheck refuses, before bbolt maps it, a file whose meta page is valid
// but whose pages bbolt's Open would read past the file's end or take for
// a freelist they are not: bbolt faults or panics there, in the middle of
// Open, and a panic leaves its memory map, and with it the file's lock,
// held until the process ends (a lock held by the map outlives closing the
// file). A file without a valid meta page is left to bbolt, which refuses
// it cleanly.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := fileSize(f)
	if err != nil || size == 0 {
		return err
	}
	pf, err := openPages(f, size)
	if err != nil {
		return nil
	}
	if pf.reach() > size {
		return fmt.Errorf("%w: %d bytes, truncated from %d", ErrCorrupt, size, pf.reach())
	}
	if id := pf.meta.freelist; id != noFreelist && !pf.isFreelist(id) {
		return fmt.Errorf("%w: the freelist page %d is damaged", ErrCorrupt, id)
	}
	return nil
}
