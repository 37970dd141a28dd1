package store

import (
	"errors"
	"fmt"
	"os"
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
const format = 1

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
}

// Store is the gateway's database: tasks, runs, modules and logs in one
// bbolt file. Its methods are safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	commit *committer
}

// Open opens or creates the store file at path (mode 0600; its directory
// must exist). It fails when another process holds the file, when the file
// is not a Shoal store, or when it was written by a newer format.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
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
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, commit: newCommitter(db)}
	if err := s.check(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// openBolt is bolt.Open, with a panic on a damaged file turned into an error.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
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
		return nil
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

// view is db.View with recoverCorrupt.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
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
