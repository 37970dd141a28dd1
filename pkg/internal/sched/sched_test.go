package sched_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const mod = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

func spec(id string) task.Spec { return task.Spec{ID: id, Module: mod} }

func mustSubmit(tb testing.TB, s *sched.Scheduler, now time.Time, sp task.Spec) {
	tb.Helper()
	if _, err := s.Submit(now, sp); err != nil {
		tb.Fatal(err)
	}
}

func ok(res string) task.Outcome { return task.Outcome{OK: true, Result: res} }

func TestScheduleStartDelayRepeats(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w1", sched.Offer{Slots: 4})
	sp := spec("t")
	sp.Start, sp.Delay, sp.Repeats, sp.Complete = time.Second, 2*time.Second, 3, 5
	mustSubmit(t, s, t0, sp)

	steps := []struct {
		at   time.Duration
		want int // runs dispatched at this step
	}{{0, 0}, {999 * time.Millisecond, 0}, {time.Second, 1}, {2 * time.Second, 0}, {3 * time.Second, 1}, {5 * time.Second, 1}, {10 * time.Second, 0}}
	for _, st := range steps {
		ds := s.Assign(t0.Add(st.at))
		if len(ds) != st.want {
			t.Fatalf("at %v: %d dispatches, want %d", st.at, len(ds), st.want)
		}
		for _, d := range ds {
			if !finish(s, t0.Add(st.at), d.Ref, ok("42"), d.Worker) {
				t.Fatalf("outcome of %v was stale", d.Ref)
			}
		}
	}
	got, _ := s.Task("t")
	if got.Task.Status != task.Succeeded || got.Task.Completions != 8 {
		t.Fatalf("task = %s completions %d; want succeeded 8", got.Task.Status, got.Task.Completions)
	}
	if _, due := s.NextDue(); due {
		t.Fatal("nothing should remain scheduled")
	}
}

func TestStatusTransitions(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	sp := spec("t")
	sp.Start = time.Second
	mustSubmit(t, s, t0, sp)
	status := func() task.Status { st, _ := s.Status("t"); return st }
	if status() != task.Scheduled {
		t.Fatalf("before start: %s", status())
	}
	s.Assign(t0.Add(time.Second)) // due, but no worker yet: it waits
	if status() != task.Queued {
		t.Fatalf("due without workers: %s", status())
	}
	s.Offer("w", sched.Offer{Slots: 1})
	ds := s.Assign(t0.Add(2 * time.Second))
	if len(ds) != 1 || status() != task.Running {
		t.Fatalf("after worker joined: %d dispatches, %s", len(ds), status())
	}
	_, run := s.Finished(t0.Add(3*time.Second), ds[0].Ref, task.Outcome{ExitCode: 3, Error: "exit code 3"}, "w")
	if status() != task.Running {
		t.Fatalf("ended but not stored: %s, want running", status())
	}
	s.Saved(s.TakeUpdates())
	tk, _ := s.Task("t")
	if tk.Task.Status != task.Failed || run.Status != task.Failed || run.Error != "exit code 3" || tk.Task.Completions != 0 {
		t.Fatalf("after failure: %+v, run %+v", tk, run)
	}
}

func TestPlacementBalancesEqualWorkers(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("a", sched.Offer{Slots: 2})
	s.Offer("b", sched.Offer{Slots: 2})
	for i := range 100 {
		mustSubmit(t, s, t0, spec(fmt.Sprint("t", i)))
	}
	count := map[sched.WorkerID]int{}
	now := t0
	for range 1000 {
		ds := s.Assign(now)
		if len(ds) == 0 {
			break
		}
		// Workers answer in alternating order so neither is favoured by
		// finishing first.
		for _, d := range ds {
			count[d.Worker]++
			finish(s, now, d.Ref, ok("1"), d.Worker)
		}
		now = now.Add(time.Millisecond)
	}
	if count["a"]+count["b"] != 100 || count["a"] < 40 || count["b"] < 40 {
		t.Fatalf("placement a=%d b=%d, want each 40-60 of 100", count["a"], count["b"])
	}
	for _, w := range s.Workers() {
		if w.Runs != int64(count[w.ID]) || w.Used != 0 {
			t.Errorf("worker %s: runs %d used %d, want %d and 0", w.ID, w.Runs, w.Used, count[w.ID])
		}
	}
}

func TestPlacementPrefersFreeCapacityAndLabels(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("small", sched.Offer{Slots: 1})
	s.Offer("big", sched.Offer{Slots: 4, Labels: []string{"gpu"}, Memory: 100})
	sp := spec("gpu")
	sp.Labels = []string{"gpu"}
	mustSubmit(t, s, t0, sp)
	mustSubmit(t, s, t0, spec("any"))
	ds := s.Assign(t0)
	got := map[string]sched.WorkerID{}
	for _, d := range ds {
		got[d.Ref.Task] = d.Worker
	}
	if got["gpu"] != "big" || got["any"] != "big" {
		t.Fatalf("placement %v: the labeled task must go to big, and the next to the worker with more free slots", got)
	}
	big := spec("big-mem")
	big.Memory = 200
	mustSubmit(t, s, t0, big)
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Worker != "small" {
		t.Fatalf("a run needing more memory than big offers must go to small (unaccounted): %v", ds)
	}
}

func TestLostWorkerRetriesWithFencing(t *testing.T) {
	cfg := sched.DefaultConfig()
	s := sched.New(cfg)
	s.Offer("a", sched.Offer{Slots: 1})
	mustSubmit(t, s, t0, spec("t"))
	first := s.Assign(t0)
	if len(first) != 1 {
		t.Fatal("not dispatched")
	}
	s.RemoveWorker(t0, "a", "connection closed")
	s.Offer("b", sched.Offer{Slots: 1})
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatal("retry must wait for its backoff")
	}
	if s.Pending() != 1 {
		t.Fatalf("a run waiting to be retried is pending: %d", s.Pending())
	}
	second := s.Assign(t0.Add(cfg.RetryBackoff))
	if len(second) != 1 || second[0].Ref.Attempt != 1 || second[0].Worker != "b" {
		t.Fatalf("retry = %+v", second)
	}
	if finish(s, t0.Add(time.Second), first[0].Ref, ok("late"), "a") {
		t.Fatal("a late result from the first attempt must be stale")
	}
	current, run := s.Finished(t0.Add(time.Second), second[0].Ref, ok("7"), "b")
	if !current || run.Result != "7" || run.Attempt != 1 {
		t.Fatalf("the current attempt's result must count: %v %+v", current, run)
	}
	s.Saved(s.TakeUpdates())
	tk, _ := s.Task("t")
	if tk.Task.Completions != 1 || tk.Task.Status != task.Succeeded {
		t.Fatalf("task = %+v", tk)
	}
}

func TestRetriesRunOut(t *testing.T) {
	s := sched.New(sched.Config{Retries: 1, RetryBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	mustSubmit(t, s, t0, spec("t"))
	now := t0
	for i := range 2 {
		s.Offer("w", sched.Offer{Slots: 1})
		ds := s.Assign(now)
		if len(ds) != 1 {
			t.Fatalf("attempt %d not dispatched", i)
		}
		s.RemoveWorker(now, "w", "gone")
		now = now.Add(time.Second)
	}
	up := s.TakeUpdates()
	s.Saved(up)
	st, _ := s.Status("t")
	if st != task.Failed || len(up) != 1 || !strings.Contains(up[0].Run.Error, "worker lost") {
		t.Fatalf("after retries ran out: %s %+v", st, up)
	}
}

func TestCancel(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w", sched.Offer{Slots: 1})
	sp := spec("t")
	sp.Repeats, sp.Delay = 3, time.Second
	mustSubmit(t, s, t0, sp)
	ds := s.Assign(t0)
	running, err := s.Cancel(t0, "t")
	if err != nil || len(running) != 1 || running[0].Ref != ds[0].Ref {
		t.Fatalf("cancel = %v, %v", running, err)
	}
	if finish(s, t0, ds[0].Ref, ok("x"), "w") {
		t.Fatal("an outcome after cancel must be stale")
	}
	if ds := s.Assign(t0.Add(time.Hour)); len(ds) != 0 {
		t.Fatal("canceled runs must not be dispatched")
	}
	if s.Pending() != 0 {
		t.Fatalf("pending after cancel = %d, want 0", s.Pending())
	}
	if _, err := s.Cancel(t0, "t"); !errors.Is(err, sched.ErrDone) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := s.Cancel(t0, "nope"); !errors.Is(err, sched.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if w := s.Workers(); w[0].Used != 0 {
		t.Fatal("the slot must be free once the canceled run answered")
	}
}

func TestDuplicateIDAndOrder(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	for _, id := range []string{"b", "a", "c"} {
		mustSubmit(t, s, t0, spec(id))
	}
	if _, err := s.Submit(t0, spec("a")); !errors.Is(err, sched.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	page, _ := s.Page(sched.PageQuery{Asc: true, Limit: 10})
	if got := ids(page); got != "b a c" {
		t.Fatalf("order %v, want creation order", got)
	}
}

func TestPriority(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	mustSubmit(t, s, t0, spec("low"))
	hi := spec("high")
	hi.Priority = 5
	mustSubmit(t, s, t0, hi)
	s.Offer("w", sched.Offer{Slots: 1})
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Ref.Task != "high" {
		t.Fatalf("want high first: %v", ds)
	}
}

func TestDueTaskIsQueuedAtOnce(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	tk, err := s.Submit(t0, spec("now"))
	if err != nil || tk.Task.Status != task.Queued || tk.Task.Runs[0].Status != task.Queued {
		t.Fatalf("a task due at submit: %v %+v, want queued", err, tk)
	}
}

// Runs no worker could take wait aside without holding up the rest, and
// run once a suitable worker offers.
func TestUnplaceableRunsWaitForASuitableWorker(t *testing.T) {
	cfg := sched.DefaultConfig()
	cfg.Depth = 1 // slots only: the runs here take no time (short.go)
	s := sched.New(cfg)
	s.Offer("plain", sched.Offer{Slots: 1})
	gpu := spec("gpu")
	gpu.Labels, gpu.Repeats = []string{"gpu"}, 1000
	mustSubmit(t, s, t0, gpu)
	mustSubmit(t, s, t0, spec("plain-task"))
	ds := s.Assign(t0)
	if len(ds) != 1 || ds[0].Ref.Task != "plain-task" {
		t.Fatalf("the plain task must run despite 1000 unplaceable runs ahead: %v", ds)
	}
	finish(s, t0, ds[0].Ref, ok("1"), "plain")
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatalf("no worker has the gpu label: %v", ds)
	}
	s.Offer("gpu", sched.Offer{Slots: 2, Labels: []string{"gpu"}})
	if ds := s.Assign(t0); len(ds) != 2 || ds[0].Worker != "gpu" || ds[1].Worker != "gpu" {
		t.Fatalf("after a gpu worker joined: %v", ds)
	}
	if c := s.Counts(); c.Queued != 998 || c.Pending != 998 {
		t.Fatalf("queued = %d, pending %d, want 998", c.Queued, c.Pending)
	}
}

func TestUpdatesAndRestore(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w", sched.Offer{Slots: 1})
	sp := spec("t")
	sp.Repeats, sp.Delay = 3, time.Second
	mustSubmit(t, s, t0, sp)
	ds := s.Assign(t0)
	s.Finished(t0, ds[0].Ref, ok("a"), "w")
	second := s.Assign(t0.Add(time.Second)) // run 1 is running when we "crash"
	up := s.TakeUpdates()
	if len(up) != 1 || up[0].Run.Index != 0 || up[0].Run.Status != task.Succeeded {
		t.Fatalf("updates = %+v, want run 0 succeeded", up)
	}
	if len(second) != 1 || len(s.TakeUpdates()) != 0 {
		t.Fatal("updates must be taken once")
	}

	// What the store holds: the task, run 0 ended; run 1 never recorded.
	r := sched.New(sched.DefaultConfig())
	rec := task.Record{Spec: sp, Created: t0, Succeeded: 1, Made: 1, Ended: t0}
	if err := r.Restore(t0.Add(time.Second), rec, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.Offer("w2", sched.Offer{Slots: 1})
	got := r.Assign(t0.Add(1500 * time.Millisecond))
	if len(got) != 1 || got[0].Ref.Index != 1 {
		t.Fatalf("the run that was running must run again at once: %v", got)
	}
	finish(r, t0.Add(1500*time.Millisecond), got[0].Ref, ok("b"), "w2")
	if ds := r.Assign(t0.Add(1999 * time.Millisecond)); len(ds) != 0 {
		t.Fatal("run 2 keeps its due time")
	}
	third := r.Assign(t0.Add(2 * time.Second))
	finish(r, t0.Add(2*time.Second), third[0].Ref, ok("c"), "w2")
	tk, _ := r.Task("t")
	if tk.Task.Status != task.Succeeded || tk.Task.Completions != 3 {
		t.Fatalf("restored task = %s %d", tk.Task.Status, tk.Task.Completions)
	}

	// A run below Made without a record ran when the gateway stopped:
	// it runs again.
	h := spec("holes")
	h.Repeats = 4
	if err := r.Restore(t0, task.Record{Spec: h, Created: t0, Succeeded: 1, Made: 3, Open: []task.Run{{Index: 0, Due: t0}, {Index: 1, Due: t0}}}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r.PendingOf("") != 3 {
		t.Fatalf("pending = %d, want runs 0, 1 and 3", r.PendingOf(""))
	}

	// A canceled task's open runs are canceled on restore, without records.
	c := spec("c")
	c.Repeats = 2
	if err := r.Restore(t0, task.Record{Spec: c, Created: t0, Canceled: true, CanceledAt: t0}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Status("c"); st != task.Canceled || len(r.TakeUpdates()) != 0 || !r.Done("c") {
		t.Fatalf("restored canceled task: %s", st)
	}
}

// A run goes to a worker that holds its module compiled while one has a
// free slot; cold workers take it when the warm ones are full, so neither
// starves nor is overloaded.
func TestPlacementPrefersWarmWorkers(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("cold", sched.Offer{Slots: 4})
	s.Offer("warm", sched.Offer{Slots: 2, Cached: []string{mod}})
	for i := range 4 {
		mustSubmit(t, s, t0, spec(fmt.Sprint("t", i)))
	}
	got := map[sched.WorkerID]int{}
	for _, d := range s.Assign(t0) {
		got[d.Worker]++
	}
	if got["warm"] != 2 || got["cold"] != 2 {
		t.Fatalf("placement %v: want the warm worker filled first (2), the rest on the cold one", got)
	}
}

// finish is Finished and the store's confirmation (Saved) of the run it
// ended, as the gateway does: after it the run is final.
func finish(s *sched.Scheduler, now time.Time, ref sched.RunRef, o task.Outcome, w sched.WorkerID) bool {
	current, _ := s.Finished(now, ref, o, w)
	s.Saved(s.TakeUpdates())
	return current
}

// A draining worker takes no new runs, and takes them again when told;
// Demand counts the due runs a worker like those of the pool could take.
func TestDrainingAndDemand(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	for i := range 3 {
		mustSubmit(t, s, t0, spec(fmt.Sprint("t", i)))
	}
	big := spec("big")
	big.Labels = []string{"gpu"} // no worker offers it
	big.Priority = 1             // looked at first
	mustSubmit(t, s, t0, big)
	if d := s.Demand(); d != 4 {
		t.Fatalf("demand of an empty pool: %d, want every due run (4)", d)
	}
	s.Offer("w1", sched.Offer{Slots: 1})
	ds := s.Assign(t0)
	if len(ds) != 1 {
		t.Fatalf("assigned %d, want 1", len(ds))
	}
	if d := s.Demand(); d != 2 {
		t.Fatalf("demand: %d, want 2 (the run no worker could take is not counted)", d)
	}
	if !s.SetDraining("w1", true) || s.SetDraining("nope", true) {
		t.Fatal("SetDraining: the pool's worker, and only it")
	}
	s.Finished(t0, ds[0].Ref, ok("x"), "w1")
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatalf("a draining worker got %d runs", len(ds))
	}
	s.SetDraining("w1", false)
	if ds := s.Assign(t0); len(ds) != 1 {
		t.Fatalf("a worker taking runs again got %d", len(ds))
	}
	if d := s.Demand(); d != 1 {
		t.Fatalf("demand after two started: %d, want 1", d)
	}
}
