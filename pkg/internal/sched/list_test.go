package sched_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// ids are the IDs of a page, joined.
func ids(ts []sched.Snapshot) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Task.Spec.ID
	}
	return strings.Join(out, " ")
}

// walkPages follows a query's pages to the end and returns each page's IDs.
func walkPages(s *sched.Scheduler, q sched.PageQuery) []string {
	var pages []string
	for {
		page, next := s.Page(q)
		pages = append(pages, ids(page))
		if next == 0 {
			return pages
		}
		q.After = next
	}
}

func TestPages(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	for i := 1; i <= 7; i++ {
		sp := spec(fmt.Sprint("t", i))
		if i%3 == 0 {
			sp.Start = time.Hour // scheduled; the others are queued
		}
		if i%2 == 0 {
			sp.Owner = "alice"
		}
		mustSubmit(t, s, t0, sp)
	}
	s.Assign(t0) // no worker: due runs are queued
	scheduled := func(st task.Status) bool { return st == task.Scheduled }
	for _, c := range []struct {
		name string
		q    sched.PageQuery
		want []string
	}{
		{"newest first", sched.PageQuery{Limit: 3}, []string{"t7 t6 t5", "t4 t3 t2", "t1"}},
		{"creation order", sched.PageQuery{Limit: 3, Asc: true}, []string{"t1 t2 t3", "t4 t5 t6", "t7"}},
		{"a full last page has no next", sched.PageQuery{Limit: 7}, []string{"t7 t6 t5 t4 t3 t2 t1"}},
		{"by status", sched.PageQuery{Limit: 1, Match: scheduled}, []string{"t6", "t3", ""}},
		{"by status within a budget", sched.PageQuery{Limit: 5, Asc: true, Match: scheduled, Budget: 2},
			[]string{"", "t3", "t6", ""}},
		{"by owner", sched.PageQuery{Limit: 2, Owner: "alice"}, []string{"t6 t4", "t2"}},
		{"by owner and status", sched.PageQuery{Limit: 5, Owner: "alice", Match: scheduled}, []string{"t6"}},
		{"by owner within a budget", sched.PageQuery{Limit: 5, Asc: true, Owner: "alice", Budget: 3},
			[]string{"t2", "t4 t6", ""}},
		{"an owner with no tasks", sched.PageQuery{Limit: 5, Owner: "bob"}, []string{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := walkPages(s, c.q); !slices.Equal(got, c.want) {
				t.Errorf("pages %q, want %q", got, c.want)
			}
		})
	}
	// A cursor keeps its place while tasks are added.
	page, next := s.Page(sched.PageQuery{Limit: 2})
	mustSubmit(t, s, t0, spec("t8"))
	page2, _ := s.Page(sched.PageQuery{Limit: 2, After: next})
	if ids(page) != "t7 t6" || ids(page2) != "t5 t4" {
		t.Errorf("pages %q then %q, want t7 t6 then t5 t4", ids(page), ids(page2))
	}
}

// A task holds its runs in memory only while they are to come or under
// way: a task of many repeats holds the first, made when submitted, and
// makes the next when one starts.
func TestRunsAreMadeAsTheyStart(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	sp := spec("many")
	sp.Repeats = 1_000_000
	mustSubmit(t, s, t0, sp)
	snap, _ := s.Task("many")
	if snap.Made != 1 || len(snap.Task.Runs) != 1 || snap.Task.Status != task.Queued {
		t.Fatalf("after submit: made %d, %d runs in memory, %s; want 1, 1, queued", snap.Made, len(snap.Task.Runs), snap.Task.Status)
	}
	if s.Pending() != 1_000_000 {
		t.Fatalf("pending %d, want every run", s.Pending())
	}
	s.Offer("w", sched.Offer{Slots: 3})
	ds := s.Assign(t0)
	if len(ds) != 3 || ds[2].Ref.Index != 2 {
		t.Fatalf("dispatched %+v, want runs 0-2", ds)
	}
	snap, _ = s.Task("many")
	if snap.Made != 4 || len(snap.Task.Runs) != 4 {
		t.Fatalf("3 running: made %d, %d in memory; want 4 (3 running, 1 queued)", snap.Made, len(snap.Task.Runs))
	}
	finish(s, t0, ds[0].Ref, ok("1"), ds[0].Worker)
	snap, _ = s.Task("many")
	if len(snap.Task.Runs) != 3 || snap.Task.Runs[0].Index != 1 || snap.Task.Completions != 1 {
		t.Fatalf("after one ended: runs %+v, completions %d; want runs 1-3 and 1", snap.Task.Runs, snap.Task.Completions)
	}
	if _, err := s.Cancel(t0, "many"); err != nil {
		t.Fatal(err)
	}
	if s.Done("many") {
		t.Fatal("done before the canceled runs' records are stored")
	}
	s.Saved(s.TakeUpdates())
	snap, _ = s.Task("many")
	if s.Pending() != 0 || snap.Task.Status != task.Canceled || len(snap.Task.Runs) != 0 || !snap.Trimmed {
		t.Fatalf("canceled: pending %d, %s, %d runs in memory, trimmed %v", s.Pending(), snap.Task.Status, len(snap.Task.Runs), snap.Trimmed)
	}
}

// An outcome shows only once it is stored: until Saved the run is
// running; Unsaved runs it again as a later attempt.
func TestOutcomeShowsWhenStored(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w", sched.Offer{Slots: 1})
	mustSubmit(t, s, t0, spec("a"))
	ds := s.Assign(t0)
	current, run := s.Finished(t0, ds[0].Ref, ok("42"), "w")
	if !current || run.Status != task.Succeeded || run.Result != "42" {
		t.Fatalf("Finished: %v %+v", current, run)
	}
	if st, _ := s.Status("a"); st != task.Running {
		t.Fatalf("before it is stored the task is %s, want running", st)
	}
	updates := s.TakeUpdates()
	if n := s.Unsaved(t0, updates, "not stored"); n != 1 {
		t.Fatalf("Unsaved put back %d runs, want 1", n)
	}
	snap, _ := s.Task("a")
	if snap.Task.Status != task.Scheduled || snap.Task.Runs[0].Attempt != 1 || snap.Task.Completions != 0 {
		t.Fatalf("after a failed save: %s, attempt %d, completions %d; want scheduled (a retry), 1, 0", snap.Task.Status, snap.Task.Runs[0].Attempt, snap.Task.Completions)
	}
	if current, _ := s.Finished(t0, ds[0].Ref, ok("late"), "w"); current {
		t.Fatal("a late answer of the attempt put back counted")
	}
	ds = s.Assign(t0.Add(time.Minute))
	if len(ds) != 1 || ds[0].Ref.Attempt != 1 {
		t.Fatalf("the retry: %+v", ds)
	}
	finish(s, t0.Add(time.Minute), ds[0].Ref, ok("43"), "w")
	snap, _ = s.Task("a")
	if snap.Task.Status != task.Succeeded || snap.Task.Completions != 1 || !s.Done("a") {
		t.Fatalf("stored: %s, %d completions", snap.Task.Status, snap.Task.Completions)
	}
	if err := s.BeginPurge("a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Task("a"); ok || ids(walkPage(s)) != "" {
		t.Fatal("a task being purged is still shown")
	}
	s.AbortPurge("a") // the store refused the delete: shown again
	if ids(walkPage(s)) != "a" {
		t.Fatal("a task whose purge was aborted is not shown")
	}
	if err := s.BeginPurge("a"); err != nil {
		t.Fatal(err)
	}
	s.Purge("a")
	if _, ok := s.Task("a"); ok || ids(walkPage(s)) != "" {
		t.Fatal("a purged task is still listed")
	}
}

func walkPage(s *sched.Scheduler) []sched.Snapshot {
	page, _ := s.Page(sched.PageQuery{Limit: 10})
	return page
}

// The revision moves with every change of a task, and only then.
func TestRevision(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.SetRevision(1000)
	rev := s.Revision()
	moved := func(what string) {
		t.Helper()
		if r := s.Revision(); r == rev {
			t.Errorf("%s: the revision stayed %d", what, r)
		} else {
			rev = r
		}
	}
	still := func(what string) {
		t.Helper()
		if r := s.Revision(); r != rev {
			t.Errorf("%s: the revision moved from %d to %d", what, rev, r)
		}
	}
	mustSubmit(t, s, t0, spec("a"))
	moved("submit")
	s.Assign(t0)
	still("assign with no worker")
	s.Offer("w1", sched.Offer{Slots: 1})
	still("an offer")
	ds := s.Assign(t0)
	moved("a run started")
	finish(s, t0, ds[0].Ref, ok("1"), ds[0].Worker)
	moved("a run ended")
	s.Page(sched.PageQuery{Limit: 10})
	still("a read")
	sp := spec("b")
	sp.Start = time.Hour
	mustSubmit(t, s, t0, sp)
	moved("submit")
	if _, err := s.Cancel(t0, "b"); err != nil {
		t.Fatal(err)
	}
	moved("cancel")
	if rev < 1000 {
		t.Errorf("revision %d, want it to count from 1000", rev)
	}
}

// A purged task's id may name a new task; what was queued for the old one
// is not the new one's.
func TestPurgedIDTakenAgain(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	old := spec("x")
	old.Start = time.Minute // its first run waits in the queue of runs not yet due
	mustSubmit(t, s, t0, old)
	if _, err := s.Cancel(t0, "x"); err != nil {
		t.Fatal(err)
	}
	s.Saved(s.TakeUpdates())
	if err := s.BeginPurge("x"); err != nil {
		t.Fatal(err)
	}
	s.Purge("x")
	later := spec("x")
	later.Start = time.Hour
	mustSubmit(t, s, t0, later)
	s.Offer("w", sched.Offer{Slots: 1})
	if ds := s.Assign(t0.Add(time.Minute)); len(ds) != 0 {
		t.Fatalf("the old task's queued run started the new one early: %+v", ds)
	}
	if ds := s.Assign(t0.Add(time.Hour)); len(ds) != 1 {
		t.Fatalf("at its start: %+v", ds)
	}
}

// A task canceled while a run's outcome is being stored ends once that
// record and the canceled ones are stored: the outcome counts, and the
// task is canceled, done and trimmed.
func TestCancelWhileSaving(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("w", sched.Offer{Slots: 1})
	sp := spec("c")
	sp.Repeats = 3
	mustSubmit(t, s, t0, sp)
	ds := s.Assign(t0)
	s.Finished(t0, ds[0].Ref, ok("1"), "w") // being stored
	running, err := s.Cancel(t0, "c")
	if err != nil || len(running) != 0 {
		t.Fatalf("cancel: %v %v; want no running run to stop", running, err)
	}
	if s.Done("c") || s.Pending() != 0 || s.PendingOf("") != 0 {
		t.Fatalf("before the records are stored: done %v, pending %d", s.Done("c"), s.Pending())
	}
	up := s.TakeUpdates()
	if len(up) != 2 { // run 0's outcome, run 1 canceled (run 2 was never made)
		t.Fatalf("updates %+v", up)
	}
	s.Saved(up)
	snap, _ := s.Task("c")
	if !s.Done("c") || snap.Task.Status != task.Canceled || snap.Task.Completions != 1 || !snap.Trimmed {
		t.Fatalf("after the records: done %v, %s, %d completions, trimmed %v", s.Done("c"), snap.Task.Status, snap.Task.Completions, snap.Trimmed)
	}
}
