package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// module is n bytes named by their hash, a write that needs new pages.
func module(seed, n int) (string, []byte) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed + i*7)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

// TestNoSpace fills the disk under a store: writes fail with ErrNoSpace
// and are counted, the store stays readable and whole, and once the space
// is back a probe and the next writes succeed, and the file opens again.
func TestNoSpace(t *testing.T) {
	dir := meshtest.Tmpfs(t, 4<<20)
	path := filepath.Join(dir, "shoal.db")
	s := MustOpenPath(t, path, store.Options{})
	MustCreate(t, s, NewTask("before", 3))
	filler := meshtest.FillDisk(t, dir)

	// A small commit may still fit in pages bbolt freed; a module of
	// 256 KiB cannot.
	h, wasm := module(1, 256<<10)
	err := s.PutModule(h, wasm)
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("put module on a full disk: %v, want ErrNoSpace", err)
	}
	full := s.Full()
	if !errors.Is(full, store.ErrNoSpace) {
		t.Fatalf("Full after a refused write: %v, want ErrNoSpace", full)
	}
	t.Logf("Full: %v", full)
	if n := s.Refused(); n != 1 {
		t.Fatalf("Refused = %d after one refused write, want 1", n)
	}

	// Writers sharing commits are each refused, and each counted.
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			h, wasm := module(10+i, 256<<10)
			errs[i] = s.PutModule(h, wasm)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, store.ErrNoSpace) {
			t.Fatalf("writer %d: %v, want ErrNoSpace", i, err)
		}
	}
	if n := s.Refused(); n != 1+writers {
		t.Fatalf("Refused = %d, want %d", n, 1+writers)
	}

	// Reads still work, and what was committed before is whole.
	if got := MustTask(t, s, "before"); len(got.Runs) != 3 {
		t.Fatalf("task before the disk filled: %d runs, want 3", len(got.Runs))
	}
	if s.HasModule(h) {
		t.Fatal("a refused module is in the store")
	}
	if err := s.Probe(); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("probe on a full disk: %v, want ErrNoSpace", err)
	}
	if s.Full() == nil {
		t.Fatal("a failed probe cleared Full")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(); err != nil {
		t.Fatalf("probe with space: %v", err)
	}
	if err := s.Full(); err != nil {
		t.Fatalf("Full after a probe that worked: %v", err)
	}
	if err := s.PutModule(h, wasm); err != nil {
		t.Fatalf("put module once the space is back: %v", err)
	}
	after := NewTask("after", 2)
	after.Runs[0].Status, after.Runs[0].Ended, after.Runs[0].Result = task.Succeeded, time.Now(), "42"
	MustCreate(t, s, after)

	// The file is whole: Open runs bbolt's consistency check on it.
	s = MustReopen(t, s, path)
	if !s.HasModule(h) {
		t.Fatal("module written after the space came back is gone after a reopen")
	}
	if got := MustTask(t, s, "after"); got.Completions != 1 || got.Result != "42" {
		t.Fatalf("task written after the space came back: completions %d result %q", got.Completions, got.Result)
	}
	if n := s.Refused(); n != 0 {
		t.Fatalf("Refused = %d in a store just opened, want 0", n)
	}
}

// TestNoSpaceRunRecords fills the disk while runs are recorded, as a
// gateway does, and checks that a record refused is not in the file,
// and that the same record is saved once the space is back.
func TestNoSpaceRunRecords(t *testing.T) {
	dir := meshtest.Tmpfs(t, 4<<20)
	path := filepath.Join(dir, "shoal.db")
	s := MustOpenPath(t, path, store.Options{})
	const tasks = 200
	for i := range tasks {
		MustCreate(t, s, NewTask(fmt.Sprintf("t%d", i), 1))
	}
	filler := meshtest.FillDisk(t, dir)
	// Records with large results until one is refused: the first ones may
	// fit in free pages of the file.
	big := string(make([]byte, 32<<10))
	refused := -1
	for i := range tasks {
		r := task.Run{Index: 0, Status: task.Succeeded, Ended: time.Now(), Result: big}
		if err := s.SaveRuns(fmt.Sprintf("t%d", i), r); err != nil {
			if !errors.Is(err, store.ErrNoSpace) {
				t.Fatalf("save run of t%d: %v, want ErrNoSpace", i, err)
			}
			refused = i
			break
		}
	}
	if refused < 0 {
		t.Fatalf("%d records of 32 KiB all fitted on a full 4 MiB disk", tasks)
	}
	id := fmt.Sprintf("t%d", refused)
	if got := MustTask(t, s, id); got.Runs[0].Status.Done() {
		t.Fatalf("a refused run record is in the store: %+v", got.Runs[0])
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r := task.Run{Index: 0, Status: task.Succeeded, Ended: time.Now(), Result: "ok"}
	if err := s.SaveRuns(id, r); err != nil {
		t.Fatalf("save the refused record again with space: %v", err)
	}
	if err := s.Full(); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Full after a write that worked, before a probe: %v, want ErrNoSpace until a probe finds space", err)
	}
	if err := s.Probe(); err != nil {
		t.Fatalf("probe with space: %v", err)
	}
	if err := s.Full(); err != nil {
		t.Fatalf("Full after a probe that worked: %v", err)
	}
	s = MustReopen(t, s, path)
	if got := MustTask(t, s, id); got.Runs[0].Status != task.Succeeded || got.Result != "ok" {
		t.Fatalf("record saved after the space came back: %+v", got.Runs[0])
	}
}
