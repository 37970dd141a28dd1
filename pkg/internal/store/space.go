package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrNoSpace is returned by a write that failed for lack of disk space:
// the file system is full (ENOSPC) or its owner's quota is used up
// (EDQUOT). Nothing of that write was stored, and the store stays usable:
// bbolt rolls the transaction back before it switches its meta page (the
// only page it writes in place, never past the end of the file), so the
// last committed state stands, and a later write succeeds once there is
// space again. Full says whether a write failed so since the last Probe
// that found space.
var ErrNoSpace = errors.New("no space left on the store's disk")

// noSpace reports whether err is a lack of disk space. bbolt keeps the
// errno of a failed write or sync, but formats some with %s (growing the
// file: "file resize error: no space left on device"), which leaves only
// the text: both are checked.
func noSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// withNoSpace marks err as ErrNoSpace when it is a lack of space.
func withNoSpace(err error) error {
	if noSpace(err) && !errors.Is(err, ErrNoSpace) {
		return &noSpaceError{err}
	}
	return err
}

// noSpaceError is ErrNoSpace with its cause.
type noSpaceError struct{ cause error }

func (e *noSpaceError) Error() string        { return ErrNoSpace.Error() + ": " + e.cause.Error() }
func (e *noSpaceError) Unwrap() error        { return e.cause }
func (e *noSpaceError) Is(target error) bool { return target == ErrNoSpace }

// space is what the store knows of its disk's space: whether a commit
// failed for lack of it since a probe last found space, and how many
// writes were refused so.
type space struct {
	path    string // the store file, for messages and the probe
	mu      sync.Mutex
	full    error // the last ErrNoSpace of a commit; nil once a probe finds space
	refused atomic.Uint64
}

// committed notes the outcome of a commit of n writes: a lack of space
// makes the store full. A commit that succeeds does not make it not full:
// bbolt reuses the pages it freed in its file, so small commits may go on
// succeeding on a full disk while anything larger fails, and a store that
// said so in turns would be ready and not ready from one write to the
// next. Only a Probe, which needs space of its own, ends it.
func (sp *space) committed(err error, n int) {
	if errors.Is(err, ErrNoSpace) {
		sp.refused.Add(uint64(n))
		sp.mu.Lock()
		sp.full = err
		sp.mu.Unlock()
	}
}

func (sp *space) clear() {
	sp.mu.Lock()
	sp.full = nil
	sp.mu.Unlock()
}

// Full returns ErrNoSpace, with the cause of the last such failure, from
// the first write the store refused for lack of disk space until a Probe
// finds space again; else nil. Writes are still tried while it is full,
// and some may succeed.
func (s *Store) Full() error {
	sp := s.commit.space
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.full == nil {
		return nil
	}
	cause := sp.full
	var ns *noSpaceError
	if errors.As(cause, &ns) {
		cause = ns.cause
	}
	return fmt.Errorf("%w (%s): the last write failed: %v", ErrNoSpace, sp.path, cause)
}

// Refused counts the writes the store refused for lack of disk space
// since it was opened (each caller's write once, whatever the batch it
// shared a commit with).
func (s *Store) Refused() uint64 { return s.commit.space.refused.Load() }

// probeBytes is what Probe writes: more than a commit of a few runs, so
// that space for a probe is space for the next writes.
const probeBytes = 64 << 10

// Probe checks whether the store's disk has space again, by writing and
// syncing probeBytes to a file next to the store's and removing it. It
// returns nil, and the store is no longer Full, when that worked, and
// ErrNoSpace when there is still no space; other failures are returned
// as they are and change nothing. The probe writes a file of its own
// rather than a transaction: bbolt reuses pages freed in its file, so a
// small commit may succeed on a full disk and say nothing about the next.
func (s *Store) Probe() error {
	path := s.commit.space.path + ".probe"
	err := writeSynced(path, make([]byte, probeBytes))
	if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	switch {
	case err == nil:
		s.commit.space.clear()
		return nil
	case noSpace(err):
		return withNoSpace(fmt.Errorf("probe %s: %w", path, err))
	}
	return fmt.Errorf("probe %s: %w", path, err)
}

// writeSynced writes b to a new file at path and syncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
