package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// recoverTasks is how many tasks MustFill writes; each has 3 runs, the
// first of them ended, and a log entry.
const recoverTasks = 2000

// MustFill writes a store at path with recoverTasks tasks, their runs and
// logs, and the module they use (large enough for overflow pages).
func MustFill(tb testing.TB, path string) {
	tb.Helper()
	s, err := store.Open(path, store.Options{NoSync: true}) // the tests damage the file anyway
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 10<<10)
	sum := sha256.Sum256(wasm)
	hash := hex.EncodeToString(sum[:])
	if err := s.PutModule(hash, wasm); err != nil {
		tb.Fatal(err)
	}
	batch := make([]task.Task, 0, 100)
	for i := range recoverTasks {
		tk := task.New(task.Spec{ID: fmt.Sprint("t", i), Repeats: 3, Module: hash, Delay: time.Second}, epoch)
		batch = append(batch, *tk)
		if len(batch) == cap(batch) {
			if err := s.CreateTasks(batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := range recoverTasks {
		id := fmt.Sprint("t", i)
		done := task.Run{Index: 0, Status: task.Succeeded, Worker: "w", Started: epoch, Ended: epoch.Add(time.Millisecond), Result: fmt.Sprint(i)}
		if err := s.SaveRuns(id, done); err != nil {
			tb.Fatal(err)
		}
		if err := s.AppendLogs(id, 1<<20, task.LogEntry{Seq: 1, Stream: "stdout", Data: fmt.Sprintf("out %d\n", i)}); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestRecover damages a store in the ways a disk or a crash does and
// recovers it: each ends with a store that opens, holds what could be read
// with every copied task whole (its runs 0..n-1), takes new tasks, and
// restores into a scheduler; the counts add up; the damaged file is kept
// byte for byte.
func TestRecover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tb testing.TB, path string)
		// nothing: no record can be read; some: at least one task is
		// recovered and at least one is lost.
		nothing, some bool
	}{
		{"truncated to half", truncate(func(size int64) int64 { return size / 2 }), false, true},
		{"truncated to 16 KiB", truncate(func(int64) int64 { return 16 << 10 }), false, false},
		{"truncated to 0 bytes", truncate(func(int64) int64 { return 0 }), true, false},
		{"leaf pages of garbage", overwriteLeaves(4), false, true},
		{"garbage in the middle of the file", overwrite(0.3, 64<<10), false, true},
		{"the meta pages overwritten", overwrite(0, 8192), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gateway.db")
			MustFill(t, path)
			tc.damage(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := store.Recover(path, epoch)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", rec.Summary())
			if rec.Whole {
				t.Fatal("a damaged store was found whole")
			}
			kept, err := os.ReadFile(rec.Damaged)
			if err != nil || !bytes.Equal(kept, before) || filepath.Dir(rec.Damaged) != dir {
				t.Fatalf("the damaged file was not kept beside the store as it was: %s, %d bytes, %v", rec.Damaged, len(kept), err)
			}
			if (rec.Nothing != "") != tc.nothing {
				t.Errorf("nothing read = %q, want it set: %v", rec.Nothing, tc.nothing)
			}
			if tc.some && (rec.Copied.Tasks == 0 || rec.LostTasks+rec.Requeued+len(rec.Pages) == 0) {
				t.Errorf("copied %d tasks, lost %d, requeued %d runs, %d pages unreadable; want some of each side",
					rec.Copied.Tasks, rec.LostTasks, rec.Requeued, len(rec.Pages))
			}
			if rec.HadKnown && rec.Copied.Tasks+rec.LostTasks != recoverTasks {
				t.Errorf("%d tasks copied and %d lost, of %d", rec.Copied.Tasks, rec.LostTasks, recoverTasks)
			}
			want := []string{rec.Damaged, fmt.Sprintf("%d tasks", rec.Copied.Tasks)}
			if tc.nothing {
				want[1] = "nothing could be read: " + rec.Nothing
			}
			for _, want := range want {
				if !strings.Contains(rec.Summary(), want) {
					t.Errorf("the summary does not say %q", want)
				}
			}
			MustUsable(t, path, rec)
		})
	}
}

// MustUsable checks the recovered store at path against rec.
func MustUsable(t *testing.T, path string, rec *store.Recovery) {
	t.Helper()
	s := MustOpenPath(t, path, store.Options{})
	all := LoadAll(t, s)
	runs, done := 0, 0
	sc := sched.New(sched.DefaultConfig())
	for _, tk := range all {
		// Runs are stored as they end: a task holds at most its runs, and
		// none is missing below the highest one stored.
		if len(tk.Runs) > tk.Spec.RunCount() {
			t.Fatalf("task %s has %d runs, want at most %d", tk.Spec.ID, len(tk.Runs), tk.Spec.RunCount())
		}
		for i, r := range tk.Runs {
			if r.Index != i {
				t.Fatalf("task %s: run %d at position %d", tk.Spec.ID, r.Index, i)
			}
			if r.Status == task.Succeeded {
				done++
			}
		}
		runs += len(tk.Runs)
		logs, err := s.Logs(tk.Spec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) > 1 {
			t.Fatalf("task %s has %d log entries, wrote 1", tk.Spec.ID, len(logs))
		}
	}
	if err := s.LoadRecords(func(r task.Record) error { return sc.Restore(epoch, r, time.Time{}) }); err != nil {
		t.Fatal(err)
	}
	if len(all) != rec.Copied.Tasks || runs != rec.Copied.Runs+rec.Requeued {
		t.Errorf("the store holds %d tasks and %d runs; the recovery says %d tasks, %d runs and %d requeued",
			len(all), runs, rec.Copied.Tasks, rec.Copied.Runs, rec.Requeued)
	}
	if st := s.Stats(); st.Tasks != len(all) || st.Runs != runs || st.Modules != rec.Copied.Modules || st.LogBytes != rec.Copied.LogBytes {
		t.Errorf("stats %+v disagree with the recovery %+v", st, rec.Copied)
	}
	t.Logf("%d tasks, %d runs (%d succeeded) restored", len(all), runs, done)
	// New tasks go on from the old sequences: none takes a copied task's
	// place, and every task is still there after a reopen.
	MustCreate(t, s, NewTask("after-recovery", 2))
	s = MustReopen(t, s, path)
	if got := len(LoadAll(t, s)); got != len(all)+1 {
		t.Errorf("%d tasks after a new one, want %d", got, len(all)+1)
	}
}

// TestRecoverWhole leaves a store that is not damaged as it is.
func TestRecoverWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	MustFill(t, path)
	rec, err := store.Recover(path, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Whole || rec.Damaged != "" {
		t.Fatalf("recovery of a whole store: %s", rec.Summary())
	}
	s := MustOpenPath(t, path, store.Options{})
	if got := len(LoadAll(t, s)); got != recoverTasks {
		t.Errorf("%d tasks after, want %d", got, recoverTasks)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("files beside the store: %v, %v", entries, err)
	}
}

// TestRecoverInUse refuses a file another store holds, and changes nothing.
func TestRecoverInUse(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("a", 1))
	if _, err := store.Recover(path, epoch); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("recover of a held file: %v, want in use", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("files beside the store: %v, %v", entries, err)
	}
	MustTask(t, s, "a")
}

// TestRecoverLosesRecords damages single records, not pages: a task record
// that does not decode loses the task and drops its runs, a run record
// that does not decode is scheduled again.
func TestRecoverLosesRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	s := MustOpenPath(t, path, store.Options{})
	for _, id := range []string{"a", "b", "c"} {
		MustCreate(t, s, NewTask(id, 2))
		if err := s.SaveRuns(id, task.Run{Index: 0, Status: task.Succeeded, Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Task b's record (sequence 2) and run 0 of task c (sequence 3) get a
	// version byte no codec has.
	if err := withBolt(path, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("tasks")).Put(seqKey(2), []byte{99, 1, 2}); err != nil {
			return err
		}
		return tx.Bucket([]byte("runs")).Put(append(seqKey(3), 0, 0, 0, 0), []byte{99})
	}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Recover(path, epoch)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rec.Summary())
	if kept, err := os.ReadFile(rec.Damaged); err != nil || !bytes.Equal(kept, before) {
		t.Errorf("the damaged file was not kept as it was (%v)", err)
	}
	if rec.Copied.Tasks != 2 || rec.LostTasks != 1 || rec.DroppedRuns != 2 || rec.Requeued != 1 || rec.BadRecords != 2 {
		t.Errorf("recovery %+v: want 2 tasks copied, 1 lost with 2 runs dropped, 1 run requeued, 2 bad records", rec)
	}
	if len(rec.LostIDs) != 1 || !strings.HasPrefix(rec.LostIDs[0], "b ") {
		t.Errorf("lost ids %q, want b", rec.LostIDs)
	}
	s = MustOpenPath(t, path, store.Options{})
	if _, err := s.Task("b"); err == nil {
		t.Error("lost task b is in the store")
	}
	c := MustTask(t, s, "c")
	if c.Runs[0].Status != task.Scheduled || c.Runs[1].Status != task.Scheduled || c.Completions != 0 {
		t.Errorf("task c's runs %+v: want run 0 scheduled again", c.Runs)
	}
	if a := MustTask(t, s, "a"); a.Completions != 1 {
		t.Errorf("task a: %d completions, want 1", a.Completions)
	}
}

func seqKey(n uint64) []byte { return []byte{0, 0, 0, 0, 0, 0, 0, byte(n)} }

func truncate(to func(size int64) int64) func(testing.TB, string) {
	return func(tb testing.TB, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.Truncate(path, to(fi.Size())); err != nil {
			tb.Fatal(err)
		}
	}
}

// overwrite writes n bytes of garbage at the fraction at of the file, on a
// page boundary.
// overwriteLeaves overwrites with garbage every nth leaf page in use (one
// that holds records, not a free one, whose loss would lose nothing), as
// bbolt itself tells them: some records of every kind are lost, and the
// rest can be read.
func overwriteLeaves(nth int) func(testing.TB, string) {
	return func(tb testing.TB, path string) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			tb.Fatal(err)
		}
		var leaves []int
		err = db.View(func(tx *bolt.Tx) error {
			for id := 0; ; id++ {
				p, err := tx.Page(id)
				if err != nil || p == nil {
					return err
				}
				if p.Type == "leaf" && p.Count > 0 {
					leaves = append(leaves, id)
				}
			}
		})
		pageSize := db.Info().PageSize
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil || len(leaves) < 2*nth {
			tb.Fatalf("%d leaf pages in use in %s: %v", len(leaves), path, err)
		}
		for i := nth / 2; i < len(leaves); i += nth {
			overwriteAt(tb, path, int64(leaves[i]*pageSize), pageSize)
		}
	}
}

func overwrite(at float64, n int) func(testing.TB, string) {
	return func(tb testing.TB, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			tb.Fatal(err)
		}
		overwriteAt(tb, path, int64(float64(fi.Size())*at)&^4095, n)
	}
}

// overwriteAt writes n bytes of garbage at offset off of the file.
func overwriteAt(tb testing.TB, path string, off int64, n int) {
	tb.Helper()
	garbage := make([]byte, n)
	for i := range garbage {
		garbage[i] = byte(i*131 + i>>7)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(garbage, off); err != nil {
		tb.Fatal(err)
	}
}
