package gateway

import (
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Views. The scheduler holds of a task only what is still to happen (see
// sched/entry.go); a view of the task adds from the store its spec, when
// the scheduler has let it go, the runs that ended and its result. The
// snapshot is taken under the lock and the store read after, so a run
// that ends in between is found ended in the store: the store only gains.

// ListResultBytes bounds each result in the task list: the list shows
// many tasks, and GET /tasks/{id} the whole results.
const ListResultBytes = 1024

// compose makes views of snaps with each one's latest n runs (all when n
// < 0), results clipped to resultMax bytes (0: whole). A task purged since
// its snapshot is left out.
func (g *Gateway) compose(snaps []sched.Snapshot, n, resultMax int) ([]task.Task, error) {
	return compose(g.st, snaps, n, resultMax)
}

// compose is Gateway.compose on store st: a gateway's views and a
// follower's (Stored) are made the same way.
func compose(st *store.Store, snaps []sched.Snapshot, n, resultMax int) ([]task.Task, error) {
	qs := make([]store.WindowQuery, 0, len(snaps))
	at := make([]int, len(snaps)) // index in qs, or -1: nothing to read
	for i := range snaps {
		q, need := windowOf(&snaps[i], n, resultMax)
		at[i] = -1
		if need {
			at[i] = len(qs)
			qs = append(qs, q)
		}
	}
	var ws []store.Window
	if len(qs) > 0 {
		var err error
		if ws, err = st.Windows(qs); err != nil {
			return nil, fmt.Errorf("read tasks: %w", err)
		}
	}
	now := time.Now()
	out := make([]task.Task, 0, len(snaps))
	for i := range snaps {
		var w *store.Window
		if at[i] >= 0 {
			w = &ws[at[i]]
			if w.Missing { // purged since the snapshot
				continue
			}
		}
		out = append(out, merge(&snaps[i], w, n, now))
	}
	return out, nil
}

// window is the range of run indices a view with the latest n runs
// shows.
func window(count, n int) (from, to int) {
	if n >= 0 && n < count {
		return count - n, count
	}
	return 0, count
}

// windowOf is what the store must add to snapshot s for a view, and
// whether it must add anything.
func windowOf(s *sched.Snapshot, n, resultMax int) (store.WindowQuery, bool) {
	t := &s.Task
	from, to := window(t.Spec.RunCount(), n)
	to = min(to, s.Made)
	ended := s.Made - len(t.Runs) // runs made that ended: in the store
	q := store.WindowQuery{ID: t.Spec.ID, From: from, To: to, Spec: s.Trimmed, ResultMax: resultMax}
	need := s.Trimmed || (ended > 0 && to > from) || t.Completions > t.Spec.Complete
	return q, need
}

// merge makes the view of snapshot s with the stored part w (nil when
// nothing was read): runs by index from the snapshot's live ones, the
// store's, and those yet to come.
func merge(s *sched.Snapshot, w *store.Window, n int, now time.Time) task.Task {
	t := s.Task
	if w != nil {
		if w.Spec != nil {
			t.Spec = *w.Spec
		}
		t.Result, t.ResultBytes = w.Result, w.ResultBytes
	}
	from, to := window(t.Spec.RunCount(), n)
	runs := make([]task.Run, 0, to-from)
	live, stored := s.Task.Runs, []task.Run(nil)
	if w != nil {
		stored = w.Runs
	}
	canceled := t.Status == task.Canceled
	for i := from; i < to; i++ {
		for len(live) > 0 && live[0].Index < i {
			live = live[1:]
		}
		for len(stored) > 0 && stored[0].Index < i {
			stored = stored[1:]
		}
		switch {
		case len(live) > 0 && live[0].Index == i:
			runs = append(runs, live[0])
		case len(stored) > 0 && stored[0].Index == i && (stored[0].Status.Done() || !canceled):
			runs = append(runs, stored[0])
		default:
			// Yet to come, or never made because the task was canceled
			// first (or, in a store written before runs were made as
			// they came, a record of a run that had not ended).
			r := task.Run{Index: i, Due: t.Spec.Due(t.Created, i), Status: task.Scheduled}
			switch {
			case canceled:
				r.Status = task.Canceled
			case !r.Due.After(now):
				r.Status = task.Queued
			}
			runs = append(runs, r)
		}
	}
	t.Runs = runs
	return t
}
