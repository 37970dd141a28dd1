package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors a caller can test for with errors.Is.
var (
	// ErrExists is returned by CreateTask when the task id is already taken.
	ErrExists = errors.New("already exists")
	// ErrNotFound is returned when a task or module is not in the store.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt is returned when the file is not a readable store: not a
	// database, truncated, or with damaged pages. Restore it from a backup
	// or move it aside; the gateway cannot repair it.
	ErrCorrupt = errors.New("store file is corrupt")
)

// format is the layout version written to the meta bucket. Bump it when a
// bucket or record layout changes; Open refuses files with a newer format so
// an old binary never misreads (or rewrites) a newer gateway's data.
//
// 2: run records end with the size of a result dropped (ResultBytes), and
// the results bucket marks each task's result run. Format 1 files are
// brought to 2 when opened.
//
// 3: task records may end with a job's spec, and the buckets of jobs and
// module names (jobs.go) may exist; a format 2 file is a format 3 file
// without jobs, and is marked 3 when opened, so that an older binary
// refuses it rather than misread a job.
const format = 3

// DefaultLockTimeout is how long Open waits for another process to release
// the file when Options.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Second

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: a crash may lose or corrupt recent
	// writes. Only for benchmarks and tests that say so.
	NoSync bool
	// LockTimeout bounds the wait for the file lock held by another
	// process; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// KeepResults is how many of a task's newest runs keep their results
	// (see results.go); 0 keeps every result.
	KeepResults int
}

// Store is the gateway's database: tasks, runs, modules and logs in one
// bbolt file. Its methods are safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	commit *committer
	keep   int // Options.KeepResults
	// applied is the index of the last entry of a replicated log the
	// store holds (keyApplied, replicate.go).
	applied atomic.Uint64
}

// Open opens or creates the store file at path (mode 0600; its directory
// must exist). It fails when another process holds the file, when the file
// is not a Shoal store, or when it was written by a newer format.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	// bbolt makes a new store of an empty file, which would silently take
	// the place of a store truncated to nothing: only a missing file is new.
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		return nil, fmt.Errorf("open store %s: %w: the file is empty (0 bytes), truncated or never written; it was left as it is: %s", path, ErrCorrupt, damagedHint)
	}
	if err := precheck(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w; it was left as it is: %s", path, err, damagedHint)
	}
	db, err := openBolt(path, &bolt.Options{
		Timeout:      timeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: the file is in use by another gateway? (no lock after %v; stop it or use another --data dir): %w", path, timeout, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open store %s: %w (or not a Shoal database): %w", path, ErrCorrupt, err)
	case errors.Is(err, ErrCorrupt):
		return nil, fmt.Errorf("open store %s: %w; it was left as it is: %s", path, err, damagedHint)
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, commit: newCommitter(db, path), keep: max(opts.KeepResults, 0)}
	if err := s.check(); err != nil {
		db.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("open store %s: %w; it was left as it is: %s", path, err, damagedHint)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.loadApplied(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// KeepResults is Options.KeepResults: how many of a task's newest runs
// keep their results whole (0: all).
func (s *Store) KeepResults() int { return s.keep }

// damagedHint says what to do about a damaged store file.
const damagedHint = "start the gateway with --recover to copy what can be read into a new file (the damaged one is kept), move it aside to start an empty store, or restore a backup"

// maxChecked is the largest file Open runs bbolt's consistency check on:
// it reads every page, about a second for this much.
const maxChecked = 256 << 20

// openBolt is bolt.Open, with a panic on a damaged file turned into an
// error: bbolt's own, and the memory fault of reading a page the file no
// longer has (SIGBUS in loadFreelist on a truncated file), which
// SetPanicOnFault makes a panic instead of the process's death.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return bolt.Open(path, 0o600, opts)
}

// check makes a new file a store, or checks that an existing one is a
// whole store this binary can read.
func (s *Store) check() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if err := s.view(func(tx *bolt.Tx) error {
		// Reading past the end of the mapped file kills the process
		// (SIGBUS), not just the call: refuse a truncated file up front.
		if fi.Size() < tx.Size() {
			return fmt.Errorf("%w: %d bytes, truncated from %d", ErrCorrupt, fi.Size(), tx.Size())
		}
		if fi.Size() > maxChecked {
			return nil
		}
		// Every page reachable once, no page both in use and free. The
		// channel is drained to its end: the check reads tx until then.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
		}
		return first
	}); err != nil {
		return err
	}
	return update(s.db, initBuckets)
}

// recoverCorrupt turns a panic of bbolt into ErrCorrupt: bbolt panics on
// damaged pages, and a clear error beats a crash loop of the gateway.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}

// view is db.View with recoverCorrupt, memory faults included.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.View(fn)
}

// Close waits for commits in flight and closes the file. The store must
// not be used afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// Stats are counts for metrics and health checks.
type Stats struct {
	Tasks    int
	Runs     int
	Modules  int
	LogBytes int64 // bytes of log data kept, over all tasks
	FileSize int64 // bytes of the database file
}

// Stats counts what the store holds. It reads the counters kept with the
// data, so it is cheap at any size; it returns zeros if the store is closed.
func (s *Store) Stats() Stats {
	var st Stats
	_ = s.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		st.Tasks = int(getCounter(m, counterTasks))
		st.Runs = int(getCounter(m, counterRuns))
		st.Modules = int(getCounter(m, counterModules))
		st.LogBytes = int64(getCounter(m, counterLogBytes))
		st.FileSize = tx.Size()
		return nil
	})
	if fi, err := os.Stat(s.path); err == nil {
		st.FileSize = fi.Size()
	}
	return st
}
