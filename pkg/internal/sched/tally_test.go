package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// The tally counts each current outcome once, by kind, and never a stale
// one; TasksByStatus agrees with the tasks themselves.
func TestTallyAndTasksByStatus(t *testing.T) {
	s := sched.New(sched.Config{Retries: 1, RetryBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	s.Offer("w", sched.Offer{Slots: 3})
	for _, id := range []string{"ok", "bad", "lost"} {
		mustSubmit(t, s, t0, spec(id))
	}
	later := spec("later")
	later.Start = time.Hour
	mustSubmit(t, s, t0, later)
	ds := s.Assign(t0)
	if len(ds) != 3 {
		t.Fatalf("%d dispatches, want 3", len(ds))
	}
	for _, d := range ds {
		switch d.Ref.Task {
		case "ok":
			finish(s, t0, d.Ref, ok("1"), d.Worker)
		case "bad":
			finish(s, t0, d.Ref, task.Outcome{ExitCode: 1, Error: "exit code 1"}, d.Worker)
		case "lost":
			finish(s, t0, d.Ref, task.Outcome{Lost: true, Error: "call failed"}, d.Worker)
			if finish(s, t0, d.Ref, ok("late"), d.Worker) {
				t.Fatal("an answer to a superseded attempt must be stale")
			}
		}
	}
	want := sched.Tally{Succeeded: 1, Failed: 1, Lost: 1, Retried: 1}
	if got := s.Tally(); got != want {
		t.Fatalf("tally %+v, want %+v", got, want)
	}
	// The retry runs and is lost again: no retries left, its run fails.
	now := t0.Add(time.Second)
	if ds := s.Assign(now); len(ds) != 1 || ds[0].Ref.Task != "lost" {
		t.Fatalf("dispatches %v, want the retry", ds)
	}
	s.RemoveWorker(now, "w", "gone")
	s.Saved(s.TakeUpdates())
	want = sched.Tally{Succeeded: 1, Failed: 1, Lost: 2, Retried: 1}
	if got := s.Tally(); got != want {
		t.Fatalf("tally after the second loss %+v, want %+v", got, want)
	}
	s.Offer("w", sched.Offer{Slots: 1})
	mustSubmit(t, s, now, spec("waiting")) // due: queued until the next Assign
	mustSubmit(t, s, now, spec("canceled"))
	if _, err := s.Cancel(now, "canceled"); err != nil {
		t.Fatal(err)
	}
	got := s.TasksByStatus()
	recount := map[task.Status]int{}
	page, _ := s.Page(sched.PageQuery{Limit: 100})
	for _, tk := range page {
		recount[tk.Task.Status]++
	}
	if fmt.Sprint(got) != fmt.Sprint(recount) {
		t.Fatalf("TasksByStatus %v, the tasks say %v", got, recount)
	}
	wantStatus := map[task.Status]int{task.Succeeded: 1, task.Failed: 2, task.Scheduled: 1, task.Queued: 1, task.Canceled: 1}
	if fmt.Sprint(got) != fmt.Sprint(wantStatus) {
		t.Fatalf("TasksByStatus %v, want %v", got, wantStatus)
	}
	if ds := s.Assign(now); len(ds) != 1 || ds[0].Ref.Task != "waiting" {
		t.Fatalf("dispatches %v, want the waiting task", ds)
	}
	if got := s.TasksByStatus(); got[task.Running] != 1 || got[task.Queued] != 0 {
		t.Fatalf("after dispatch: %v", got)
	}
}

// BenchmarkTasksByStatus is the part of a metrics scrape that grows with
// the tasks: 100,000 of them.
func BenchmarkTasksByStatus(b *testing.B) {
	s := sched.New(sched.DefaultConfig())
	for i := range 100_000 {
		sp := spec(fmt.Sprint("t", i))
		sp.Start = time.Hour
		mustSubmit(b, s, t0, sp)
	}
	b.ResetTimer()
	for b.Loop() {
		if n := s.TasksByStatus()[task.Scheduled]; n != 100_000 {
			b.Fatal(n)
		}
	}
}
