package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// MustOpen opens a store file in a fresh temporary directory and closes it
// when the test ends.
func MustOpen(tb testing.TB) (*store.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "shoal.db")
	return MustOpenPath(tb, path, store.Options{}), path
}

// MustOpenPath opens the store at path and closes it when the test ends.
func MustOpenPath(tb testing.TB, path string, opts store.Options) *store.Store {
	tb.Helper()
	s, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustReopen closes s and opens its file again, as a restarted gateway
// would.
func MustReopen(tb testing.TB, s *store.Store, path string) *store.Store {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	return MustOpenPath(tb, path, store.Options{})
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// NewTask is a task with n runs, as the gateway makes it.
func NewTask(id string, n int) task.Task {
	spec := task.Spec{ID: id, Repeats: n, Module: strings.Repeat("ab", 32)}
	return task.New(spec, epoch).Clone()
}

func MustCreate(tb testing.TB, s *store.Store, t task.Task) {
	tb.Helper()
	if err := s.CreateTask(t); err != nil {
		tb.Fatalf("create %s: %v", t.Spec.ID, err)
	}
}

func MustTask(tb testing.TB, s *store.Store, id string) task.Task {
	tb.Helper()
	t, err := s.Task(id)
	if err != nil {
		tb.Fatalf("task %s: %v", id, err)
	}
	return t
}

// LoadAll is every task LoadTasks returns, in its order.
func LoadAll(tb testing.TB, s *store.Store) []task.Task {
	tb.Helper()
	var all []task.Task
	if err := s.LoadTasks(func(t task.Task) error { all = append(all, t); return nil }); err != nil {
		tb.Fatalf("load tasks: %v", err)
	}
	return all
}

// Normalize drops what a database cannot keep of a time.Time (location,
// monotonic reading), so tasks compare with reflect.DeepEqual.
func Normalize(t task.Task) task.Task {
	t = t.Clone()
	t.Created = t.Created.UTC()
	for i := range t.Runs {
		r := &t.Runs[i]
		r.Due, r.Started, r.Ended = r.Due.UTC(), r.Started.UTC(), r.Ended.UTC()
	}
	return t
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	_, path := MustOpen(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenMissingDir(t *testing.T) {
	_, err := store.Open(filepath.Join(t.TempDir(), "nope", "shoal.db"), store.Options{})
	if err == nil || !strings.Contains(err.Error(), "open store") {
		t.Fatalf("err = %v, want an open store error", err)
	}
}

func TestOpenLockedFails(t *testing.T) {
	_, path := MustOpen(t)
	start := time.Now()
	s, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("second open of a held file succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another gateway?") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %q, want it to name the file and say it is in use", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestOpenReleasedAfterClose(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("a", 1))
	s = MustReopen(t, s, path)
	MustTask(t, s, "a")
}

func TestOpenRejectsOtherFiles(t *testing.T) {
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7 + i>>8)
	}
	for _, tc := range []struct {
		name  string
		write func(path string) error
		want  string
	}{
		{"garbage", func(p string) error { return os.WriteFile(p, garbage, 0o600) }, "corrupt (or not a Shoal database)"},
		{"short", func(p string) error { return os.WriteFile(p, []byte("hello, world\n"), 0o600) }, "corrupt (or not a Shoal database)"},
		{"truncated", func(p string) error {
			s, err := store.Open(p, store.Options{NoSync: true})
			if err != nil {
				return err
			}
			for i := range 500 {
				if err := s.CreateTask(NewTask(fmt.Sprint("t", i), 3)); err != nil {
					return err
				}
			}
			s.Close()
			var end int64 // where the last page in use ends
			if err := withBolt(p, func(tx *bolt.Tx) error { end = tx.Size(); return nil }); err != nil {
				return err
			}
			return os.Truncate(p, end-4096)
		}, "truncated"},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "the file is empty (0 bytes)"},
		{"truncated to half", truncateTo(func(size int64) int64 { return size / 2 }), "corrupt"},
		{"truncated to 16 KiB", truncateTo(func(int64) int64 { return 16 << 10 }), "corrupt"},
		{"other bbolt", func(p string) error {
			return withBolt(p, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
		}, "not a Shoal store"},
		{"newer format", func(p string) error {
			s, err := store.Open(p, store.Options{})
			if err != nil {
				return err
			}
			s.Close()
			return withBolt(p, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
			})
		}, "newer than this shoal binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shoal.db")
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(path, store.Options{LockTimeout: time.Second})
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if after, rerr := os.ReadFile(path); rerr != nil || !bytes.Equal(after, before) {
				t.Errorf("the refused file was changed (%d bytes before, %d after, %v)", len(before), len(after), rerr)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %q, want %q and the path", err, tc.want)
			}
		})
	}
}

// TestDamagedPages overwrites part of a store with garbage: the damage is
// found at Open or when the tasks are read, as an ErrCorrupt error, never a
// crash.
func TestDamagedPages(t *testing.T) {
	found := 0
	for _, at := range []int{2, 30, 50, 70, 90} { // percent into the file
		path := filepath.Join(t.TempDir(), "shoal.db")
		s := MustOpenPath(t, path, store.Options{NoSync: true}) // the test damages the file anyway
		for i := range 1000 {
			MustCreate(t, s, NewTask(fmt.Sprint("t", i), 3))
		}
		s.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		garbage := make([]byte, 16<<10)
		for i := range garbage {
			garbage[i] = byte(i*131 + i>>7)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt(garbage, fi.Size()*int64(at)/100)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		s, err = store.Open(path, store.Options{})
		if err == nil {
			err = s.LoadTasks(func(task.Task) error { return nil })
			s.Close()
		}
		switch {
		case errors.Is(err, store.ErrCorrupt):
			found++
		case err != nil:
			t.Errorf("damage at %d%%: %v, want ErrCorrupt", at, err)
		}
	}
	if found == 0 {
		t.Error("no damage was found")
	}
}

// truncateTo writes a store of 2,000 tasks (over 16 KiB) at p, then cuts
// its file to the size to gives.
func truncateTo(to func(size int64) int64) func(p string) error {
	return func(p string) error {
		s, err := store.Open(p, store.Options{NoSync: true})
		if err != nil {
			return err
		}
		for i := range 2000 {
			if err := s.CreateTask(NewTask(fmt.Sprint("t", i), 3)); err != nil {
				return err
			}
		}
		s.Close()
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		return os.Truncate(p, to(fi.Size()))
	}
}

func withBolt(path string, fn func(*bolt.Tx) error) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	if err := db.Update(fn); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

func TestStats(t *testing.T) {
	s, path := MustOpen(t)
	for i := range 3 {
		MustCreate(t, s, NewTask(fmt.Sprintf("t%d", i), i+1))
	}
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	if err := s.PutModule(hashOf(wasm), wasm); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs("t0", 100, task.LogEntry{Data: "hello"}); err != nil {
		t.Fatal(err)
	}
	s = MustReopen(t, s, path)
	st := s.Stats()
	if st.Tasks != 3 || st.Runs != 6 || st.Modules != 1 || st.LogBytes != 5 || st.FileSize <= 0 {
		t.Errorf("stats = %+v, want 3 tasks, 6 runs, 1 module, 5 log bytes and a size", st)
	}
}

func TestClosedStoreErrors(t *testing.T) {
	s, _ := MustOpen(t)
	s.Close()
	if err := s.SaveRuns("x", task.Run{}); err == nil {
		t.Error("SaveRuns on a closed store succeeded")
	}
	if _, err := s.Task("x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Task on a closed store: %v, want a closed error", err)
	}
}

// Saves of one run can commit out of order; the stored record only ever
// moves forward.
func TestSaveRunsNeverStepsBack(t *testing.T) {
	s, _ := MustOpen(t)
	tk := task.New(task.Spec{ID: "t", Module: strings.Repeat("a", 64)}, time.Unix(0, 0))
	if err := s.CreateTask(*tk); err != nil {
		t.Fatal(err)
	}
	done := task.Run{Index: 0, Attempt: 1, Status: task.Succeeded, Result: "ok"}
	for _, r := range []task.Run{
		{Index: 0, Attempt: 1, Status: task.Scheduled}, // the retry is queued
		done, // and succeeds
		{Index: 0, Attempt: 1, Status: task.Scheduled}, // a late save of the retry
		{Index: 0, Attempt: 0, Status: task.Failed},    // a late save of the first attempt
	} {
		if err := s.SaveRuns("t", r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Task("t")
	if err != nil || got.Runs[0].Status != task.Succeeded || got.Runs[0].Attempt != 1 || got.Completions != 1 {
		t.Fatalf("run = %+v, %v; want attempt 1 succeeded", got.Runs[0], err)
	}
}
