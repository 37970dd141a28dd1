package sched_test

import (
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// After a restart, runs restored as open wait until hold; a worker that
// went on with one may hand it over (Adopt) meanwhile: it is running
// there at once, counted once, and no other worker gets it. A run that
// is not open (ended, canceled, started again elsewhere, or of an older
// attempt than the run's) is not adopted.
func TestAdoptHeldRuns(t *testing.T) {
	r := sched.New(sched.DefaultConfig())
	hold := t0.Add(2 * time.Second)
	sp := spec("t")
	sp.Repeats = 3
	// Run 0 ended; runs 1 (attempt 1) and 2 were under way.
	rec := task.Record{Spec: sp, Created: t0, Succeeded: 1, Made: 3, Ended: t0,
		Open: []task.Run{{Index: 1, Attempt: 1, Due: t0}, {Index: 2, Due: t0}}}
	if err := r.Restore(t0, rec, hold); err != nil {
		t.Fatal(err)
	}
	r.Offer("other", sched.Offer{Slots: 4})
	if ds := r.Assign(t0.Add(time.Second)); len(ds) != 0 {
		t.Fatalf("restored runs started before hold: %v", ds)
	}
	r.Offer("holder", sched.Offer{Slots: 4})
	if _, ok := r.Adopt(t0.Add(time.Second), task.RunRef{Task: "t", Index: 1, Attempt: 0}, "holder"); ok {
		t.Fatal("adopted an attempt older than the run's")
	}
	d, adopted := r.Adopt(t0.Add(time.Second), task.RunRef{Task: "t", Index: 1, Attempt: 1}, "holder")
	if !adopted || !d.Adopted || d.Worker != "holder" || d.Ref.Index != 1 {
		t.Fatalf("Adopt = %+v %v", d, adopted)
	}
	if _, ok := r.Adopt(t0.Add(time.Second), task.RunRef{Task: "t", Index: 1, Attempt: 1}, "other"); ok {
		t.Fatal("a running run adopted twice")
	}
	if _, ok := r.Adopt(t0, task.RunRef{Task: "t", Index: 0}, "holder"); ok {
		t.Fatal("an ended run adopted")
	}
	if _, ok := r.Adopt(t0, task.RunRef{Task: "nope"}, "holder"); ok {
		t.Fatal("a run of no task adopted")
	}
	// Run 2 was not handed over: it starts at hold, once.
	ds := r.Assign(hold)
	if len(ds) != 1 || ds[0].Ref.Index != 2 || ds[0].Adopted {
		t.Fatalf("at hold: %v, want run 2 started", ds)
	}
	if _, ok := r.Adopt(hold, task.RunRef{Task: "t", Index: 2}, "holder"); ok {
		t.Fatal("a run started again elsewhere adopted")
	}
	finish(r, hold, d.Ref, ok("b"), "holder")
	finish(r, hold, ds[0].Ref, ok("c"), ds[0].Worker)
	tk, _ := r.Task("t")
	if tk.Task.Status != task.Succeeded || tk.Task.Completions != 3 {
		t.Fatalf("task = %s with %d completions, want succeeded with 3", tk.Task.Status, tk.Task.Completions)
	}

	// A canceled task's run is not adopted.
	c := spec("c")
	if err := r.Restore(t0, task.Record{Spec: c, Created: t0, Canceled: true, CanceledAt: t0}, hold); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Adopt(t0, task.RunRef{Task: "c"}, "holder"); ok {
		t.Fatal("a canceled task's run adopted")
	}
}

// Runs are made one at a time, each when the one before it starts, and
// the store knows only up to the highest that ended: runs under way on
// several workers at a failover may be beyond what Restore made. Each is
// still adopted from its worker, whichever worker comes first, and none
// starts again elsewhere before hold.
func TestAdoptRunsNotYetMade(t *testing.T) {
	r := sched.New(sched.DefaultConfig())
	hold := t0.Add(2 * time.Second)
	sp := spec("t")
	sp.Repeats = 5
	// Runs 0 to 3 were under way on two workers; none had ended.
	if err := r.Restore(t0, task.Record{Spec: sp, Created: t0}, hold); err != nil {
		t.Fatal(err)
	}
	r.Offer("a", sched.Offer{Slots: 4})
	now := t0.Add(time.Second)
	var ds []sched.Dispatch
	for _, i := range []int{0, 2} {
		d, ok := r.Adopt(now, task.RunRef{Task: "t", Index: i}, "a")
		if !ok {
			t.Fatalf("run %d held by a not adopted", i)
		}
		ds = append(ds, d)
	}
	if got := r.Assign(now); len(got) != 0 {
		t.Fatalf("before hold, started %v: runs 1 and 3 are b's to hand over", got)
	}
	r.Offer("b", sched.Offer{Slots: 4})
	for _, i := range []int{3, 1} {
		d, ok := r.Adopt(now, task.RunRef{Task: "t", Index: i}, "b")
		if !ok {
			t.Fatalf("run %d held by b not adopted", i)
		}
		ds = append(ds, d)
	}
	// Run 4 was not under way: it starts at hold, once.
	got := r.Assign(hold)
	if len(got) != 1 || got[0].Ref.Index != 4 {
		t.Fatalf("at hold: %v, want run 4 started", got)
	}
	for _, d := range append(ds, got...) {
		finish(r, hold, d.Ref, ok("x"), d.Worker)
	}
	if tk, _ := r.Task("t"); tk.Task.Status != task.Succeeded || tk.Task.Completions != 5 {
		t.Fatalf("task = %s with %d completions, want succeeded with 5", tk.Task.Status, tk.Task.Completions)
	}
}
