package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func owned(id, owner string, repeats int) task.Spec {
	sp := spec(id)
	sp.Owner, sp.Repeats = owner, repeats
	return sp
}

// running counts the dispatched, unfinished runs by owner.
type running map[string]map[sched.RunRef]sched.Dispatch

func (r running) add(ds []sched.Dispatch) {
	for _, d := range ds {
		if r[d.Spec.Owner] == nil {
			r[d.Spec.Owner] = map[sched.RunRef]sched.Dispatch{}
		}
		r[d.Spec.Owner][d.Ref] = d
	}
}

// finishOne ends one running run of owner, the lowest ref for determinism.
func (r running) finishOne(tb testing.TB, s *sched.Scheduler, now time.Time, owner string) {
	tb.Helper()
	var first *sched.Dispatch
	for _, d := range r[owner] {
		if first == nil || d.Ref.String() < first.Ref.String() {
			first = &d
		}
	}
	if first == nil {
		tb.Fatalf("no running run of %s", owner)
	}
	delete(r[owner], first.Ref)
	if !finish(s, now, first.Ref, ok("1"), first.Worker) {
		tb.Fatalf("outcome of %v was stale", first.Ref)
	}
}

// One owner's runs never exceed its max-running, while another owner's
// runs take the rest of the pool; as its runs end, the next ones start.
func TestMaxRunningPerOwner(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.SetMaxRunning(map[string]int{"alice": 2})
	s.Offer("w1", sched.Offer{Slots: 4})
	s.Offer("w2", sched.Offer{Slots: 4})
	mustSubmit(t, s, t0, owned("a", "alice", 10))
	mustSubmit(t, s, t0, owned("b", "bob", 3))
	r := running{}
	r.add(s.Assign(t0))
	if len(r["alice"]) != 2 || len(r["bob"]) != 3 || s.RunningOf("alice") != 2 {
		t.Fatalf("first assign: alice %d bob %d running, want 2 and 3", len(r["alice"]), len(r["bob"]))
	}
	if s.PendingOf("alice") != 8 || s.PendingOf("bob") != 0 || s.Pending() != 8 {
		t.Fatalf("pending: alice %d bob %d all %d, want 8 0 8", s.PendingOf("alice"), s.PendingOf("bob"), s.Pending())
	}
	// Held: alice's next run; the ones after it are made as it starts.
	if c := s.Counts(); c.Held != 1 || c.Queued != 8 {
		t.Fatalf("counts = %+v, want 1 held and 8 queued", c)
	}
	now := t0
	for step := 0; s.PendingOf("alice") > 0; step++ {
		if step > 20 {
			t.Fatal("alice's runs do not progress")
		}
		now = now.Add(time.Second)
		r.finishOne(t, s, now, "alice")
		r.add(s.Assign(now))
		if n := len(r["alice"]); n > 2 || s.RunningOf("alice") != n {
			t.Fatalf("step %d: alice has %d runs running (scheduler says %d), limit 2", step, n, s.RunningOf("alice"))
		}
	}
	for len(r["alice"]) > 0 {
		r.finishOne(t, s, now, "alice")
	}
	if tk, _ := s.Task("a"); tk.Task.Status != task.Succeeded || tk.Task.Completions != 10 {
		t.Fatalf("alice's task: %s, %d completions", tk.Task.Status, tk.Task.Completions)
	}
}

// An owner at its limit with a long queue of higher-priority runs must not
// stand in front of other owners: their runs are placed in the same Assign,
// however long that queue is (longer than the scheduler's skip bound).
func TestOwnerAtLimitDoesNotStallOthers(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.SetMaxRunning(map[string]int{"alice": 1})
	s.Offer("w", sched.Offer{Slots: 3})
	hi := owned("flood", "alice", 1000)
	hi.Priority = 10
	mustSubmit(t, s, t0, hi)
	mustSubmit(t, s, t0, owned("b1", "bob", 1))
	mustSubmit(t, s, t0, owned("c1", "", 1))
	ds := s.Assign(t0)
	got := map[string]int{}
	for _, d := range ds {
		got[d.Spec.Owner]++
	}
	if len(ds) != 3 || got["alice"] != 1 || got["bob"] != 1 || got[""] != 1 {
		t.Fatalf("dispatches by owner %v, want one each of alice, bob and no owner", got)
	}
	// Held runs cost nothing per event: another Assign places nothing and
	// leaves alice's next run held (the others are made as it starts).
	if ds := s.Assign(t0); len(ds) != 0 || s.Counts().Held != 1 || s.PendingOf("alice") != 999 {
		t.Fatalf("second assign: %v, held %d", ds, s.Counts().Held)
	}
	for _, d := range ds {
		if d.Spec.Owner == "alice" {
			finish(s, t0, d.Ref, ok("1"), d.Worker)
		}
	}
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Spec.Owner != "alice" {
		t.Fatalf("after alice's run ended: %v, want one more of alice's", ds)
	}
}

// Raising or removing a limit releases the held runs; lowering it holds
// back new starts but leaves the running runs alone.
func TestSetMaxRunningChangesLimits(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.SetMaxRunning(map[string]int{"alice": 1})
	s.Offer("w", sched.Offer{Slots: 8})
	mustSubmit(t, s, t0, owned("a", "alice", 6))
	r := running{}
	r.add(s.Assign(t0))
	if len(r["alice"]) != 1 {
		t.Fatalf("limit 1: %d running", len(r["alice"]))
	}
	s.SetMaxRunning(map[string]int{"alice": 3})
	r.add(s.Assign(t0))
	if len(r["alice"]) != 3 {
		t.Fatalf("limit raised to 3: %d running", len(r["alice"]))
	}
	s.SetMaxRunning(map[string]int{"alice": 1})
	r.add(s.Assign(t0))
	r.finishOne(t, s, t0, "alice")
	r.add(s.Assign(t0))
	if len(r["alice"]) != 2 {
		t.Fatalf("limit lowered to 1 with 3 running, one ended: %d running, want 2 (none started)", len(r["alice"]))
	}
	s.SetMaxRunning(nil)
	r.add(s.Assign(t0))
	if len(r["alice"]) != 5 || s.Pending() != 0 {
		t.Fatalf("limit removed: %d running, %d pending; want 5 and 0", len(r["alice"]), s.Pending())
	}
}

// A run counts against its owner until its worker answers or is lost, also
// when its task is canceled meanwhile; held runs of a canceled task are
// dropped, and a lost run's retry waits for room like any other run.
func TestMaxRunningWithCancelAndLostWorkers(t *testing.T) {
	cfg := sched.DefaultConfig()
	s := sched.New(cfg)
	s.SetMaxRunning(map[string]int{"alice": 1})
	s.Offer("w1", sched.Offer{Slots: 2})
	mustSubmit(t, s, t0, owned("a", "alice", 3))
	mustSubmit(t, s, t0, owned("a2", "alice", 1))
	first := s.Assign(t0)
	if len(first) != 1 || first[0].Ref.Task != "a" {
		t.Fatalf("first = %v", first)
	}
	if _, err := s.Cancel(t0, "a"); err != nil {
		t.Fatal(err)
	}
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatalf("the canceled run still executes: nothing more of alice may start: %v", ds)
	}
	finish(s, t0, first[0].Ref, ok("late"), first[0].Worker) // stale, but frees the slot
	ds := s.Assign(t0)
	if len(ds) != 1 || ds[0].Ref.Task != "a2" || s.PendingOf("alice") != 0 {
		t.Fatalf("after the canceled run answered: %v (pending %d), want a2 only", ds, s.PendingOf("alice"))
	}
	s.RemoveWorker(t0, "w1", "gone")
	if s.RunningOf("alice") != 0 || s.PendingOf("alice") != 1 {
		t.Fatalf("after losing the worker: running %d pending %d, want 0 and 1", s.RunningOf("alice"), s.PendingOf("alice"))
	}
	s.Offer("w2", sched.Offer{Slots: 2})
	retry := s.Assign(t0.Add(cfg.RetryBackoff))
	if len(retry) != 1 || retry[0].Ref.Attempt != 1 || retry[0].Worker != "w2" {
		t.Fatalf("retry = %v", retry)
	}
}

// Restored tasks count for their owners as submitted ones do.
func TestOwnerCountsSurviveRestore(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.SetMaxRunning(map[string]int{"alice": 1})
	for i := range 3 {
		rec := task.Record{Spec: owned(fmt.Sprint("t", i), "alice", 2), Created: t0}
		if err := s.Restore(t0, rec, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if s.PendingOf("alice") != 6 {
		t.Fatalf("pending = %d, want 6", s.PendingOf("alice"))
	}
	s.Offer("w", sched.Offer{Slots: 4})
	if ds := s.Assign(t0); len(ds) != 1 {
		t.Fatalf("restored runs past the limit: %v", ds)
	}
}
