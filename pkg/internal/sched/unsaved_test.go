package sched_test

import (
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// TestReopen puts back two ended runs whose records were not saved: they
// run again, a late answer to the attempt that ended is stale, and the
// completions count each success once.
func TestReopen(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w", sched.Offer{Slots: 4})
	sp := spec("t")
	sp.Repeats, sp.Complete = 3, 5
	mustSubmit(t, s, t0, sp)
	ds := s.Assign(t0)
	if len(ds) != 3 {
		t.Fatalf("%d dispatches, want 3", len(ds))
	}
	s.Finished(t0.Add(1*time.Second), ds[0].Ref, ok("a"), "w")
	s.Finished(t0.Add(2*time.Second), ds[1].Ref, ok("b"), "w")
	s.Finished(t0.Add(3*time.Second), ds[2].Ref, task.Outcome{ExitCode: 1, Error: "exit code 1"}, "w")
	updates := s.TakeUpdates()
	if len(updates) != 3 {
		t.Fatalf("%d updates, want 3", len(updates))
	}
	if tk, _ := s.Task("t"); tk.Status != task.Failed || tk.Completions != 7 || tk.Result != "b" {
		t.Fatalf("before: %s, completions %d, result %q", tk.Status, tk.Completions, tk.Result)
	}

	// Runs 1 (succeeded) and 2 (failed) were not saved; run 0 was.
	const why = "its record could not be saved"
	at := t0.Add(4 * time.Second)
	if n := s.Reopen(at, updates[1:], why); n != 2 {
		t.Fatalf("Reopen = %d, want 2", n)
	}
	tk, _ := s.Task("t")
	if tk.Status != task.Queued || tk.Completions != 6 || tk.Result != "a" {
		t.Fatalf("after Reopen: %s, completions %d, result %q; want queued, 6, a", tk.Status, tk.Completions, tk.Result)
	}
	for _, i := range []int{1, 2} {
		r := tk.Runs[i]
		if r.Status != task.Queued || r.Attempt != 1 || r.Error != why || !r.Ended.IsZero() || r.Result != "" || r.Worker != "" {
			t.Fatalf("run %d after Reopen: %+v", i, r)
		}
	}
	if tk.Runs[0].Status != task.Succeeded {
		t.Fatalf("run 0, saved, is %s", tk.Runs[0].Status)
	}
	if p := s.Pending(); p != 2 {
		t.Fatalf("Pending = %d, want 2", p)
	}
	if len(s.TakeUpdates()) != 0 {
		t.Fatal("Reopen made updates")
	}
	// The same updates again change nothing: those attempts are over.
	if n := s.Reopen(at, updates[1:], why); n != 0 {
		t.Fatalf("second Reopen = %d, want 0", n)
	}

	again := s.Assign(at)
	if len(again) != 2 || again[0].Ref.Attempt != 1 || again[1].Ref.Attempt != 1 {
		t.Fatalf("dispatches after Reopen: %+v", again)
	}
	if s.Finished(at, ds[1].Ref, ok("late"), "w") {
		t.Fatal("a late answer to the attempt that ended counted")
	}
	for _, d := range again {
		if !s.Finished(at.Add(time.Second), d.Ref, ok("c"), "w") {
			t.Fatalf("outcome of %v was stale", d.Ref)
		}
	}
	tk, _ = s.Task("t")
	if tk.Status != task.Succeeded || tk.Completions != 8 || tk.Result != "c" {
		t.Fatalf("at the end: %s, completions %d, result %q; want succeeded, 8, c", tk.Status, tk.Completions, tk.Result)
	}
	if got := s.TakeUpdates(); len(got) != 2 {
		t.Fatalf("%d updates of the runs run again, want 2", len(got))
	}
}

// TestReopenCanceled leaves a canceled task's runs canceled: its cancel is
// what the store holds.
func TestReopenCanceled(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	sp := spec("t")
	sp.Repeats = 2
	mustSubmit(t, s, t0, sp)
	if _, err := s.Cancel(t0, "t"); err != nil {
		t.Fatal(err)
	}
	if n := s.Reopen(t0, s.TakeUpdates(), "not saved"); n != 0 {
		t.Fatalf("Reopen of a canceled task's runs = %d, want 0", n)
	}
	if tk, _ := s.Task("t"); tk.Status != task.Canceled || s.Pending() != 0 {
		t.Fatalf("canceled task after Reopen: %s, pending %d", tk.Status, s.Pending())
	}
}
