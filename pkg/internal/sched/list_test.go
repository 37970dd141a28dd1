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
func ids(ts []task.Task) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Spec.ID
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
		{"newest first", sched.PageQuery{Limit: 3, Runs: -1}, []string{"t7 t6 t5", "t4 t3 t2", "t1"}},
		{"creation order", sched.PageQuery{Limit: 3, Asc: true, Runs: -1}, []string{"t1 t2 t3", "t4 t5 t6", "t7"}},
		{"a full last page has no next", sched.PageQuery{Limit: 7, Runs: -1}, []string{"t7 t6 t5 t4 t3 t2 t1"}},
		{"by status", sched.PageQuery{Limit: 1, Match: scheduled, Runs: -1}, []string{"t6", "t3", ""}},
		{"by status within a budget", sched.PageQuery{Limit: 5, Asc: true, Match: scheduled, Budget: 2, Runs: -1},
			[]string{"", "t3", "t6", ""}},
		{"by owner", sched.PageQuery{Limit: 2, Owner: "alice", Runs: -1}, []string{"t6 t4", "t2"}},
		{"by owner and status", sched.PageQuery{Limit: 5, Owner: "alice", Match: scheduled, Runs: -1}, []string{"t6"}},
		{"by owner within a budget", sched.PageQuery{Limit: 5, Asc: true, Owner: "alice", Budget: 3, Runs: -1},
			[]string{"t2", "t4 t6", ""}},
		{"an owner with no tasks", sched.PageQuery{Limit: 5, Owner: "bob", Runs: -1}, []string{""}},
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

func TestPageCopiesTheLatestRuns(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	sp := spec("many")
	sp.Repeats = 5
	mustSubmit(t, s, t0, sp)
	page, _ := s.Page(sched.PageQuery{Limit: 1, Runs: 2})
	if len(page) != 1 || len(page[0].Runs) != 2 || page[0].Runs[0].Index != 3 || page[0].Runs[1].Index != 4 {
		t.Fatalf("page %+v, want runs 3 and 4", page)
	}
	page[0].Runs[0].Worker = "changed"
	if t2, _ := s.TaskRuns("many", -1); len(t2.Runs) != 5 || t2.Runs[3].Worker != "" {
		t.Errorf("the copy shares runs with the scheduler: %+v", t2.Runs)
	}
	if t0, _ := s.TaskRuns("many", 0); t0.Runs == nil || len(t0.Runs) != 0 {
		t.Errorf("no runs: %#v, want an empty list", t0.Runs)
	}
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
	s.Finished(t0, ds[0].Ref, ok("1"), ds[0].Worker)
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
