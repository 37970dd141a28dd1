package sched

import (
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Reopen puts back runs whose final records the caller could not save
// (updates it took with TakeUpdates), so that the scheduler shows no more
// than the store holds: the store still has such a run unfinished, and a
// restart would run it again. Each is queued again, due when it was, with
// its attempt bumped so that nothing of the attempt that ended counts any
// more; a succeeded one leaves its task's completions and result. why is
// kept as the run's error until it runs again. The bumped attempt counts
// against the task's retries, as a lost attempt's does.
//
// A run that changed since it was taken is left as it is, and so is every
// run of a canceled task: the gateway records a cancel before it makes it,
// and a restart cancels the open runs of a canceled task. It returns how
// many runs it reopened.
func (s *Scheduler) Reopen(now time.Time, updates []Update, why string) int {
	n := 0
	touched := map[*task.Task]bool{}
	for _, u := range updates {
		t, ok := s.tasks[u.Task]
		i := u.Run.Index
		if !ok || t.Status == task.Canceled || i < 0 || i >= len(t.Runs) {
			continue
		}
		r := &t.Runs[i]
		if r.Attempt != u.Run.Attempt || (r.Status != task.Succeeded && r.Status != task.Failed) {
			continue
		}
		if r.Status == task.Succeeded {
			t.Completions--
			touched[t] = true
		}
		// The status stays until push sets it, which keeps the task's
		// count of runs by status right.
		*r = task.Run{Index: i, Status: r.Status, Due: r.Due, Attempt: r.Attempt + 1, Error: why}
		s.push(now, t, i, r.Due)
		n++
	}
	for t := range touched {
		t.Result = lastResult(t)
	}
	return n
}

// lastResult is the result of t's succeeded run that ended last, as the
// store derives it when it loads a task.
func lastResult(t *task.Task) string {
	var last time.Time
	result, found := "", false
	for i := range t.Runs {
		r := &t.Runs[i]
		if r.Status == task.Succeeded && (!found || !r.Ended.Before(last)) {
			result, last, found = r.Result, r.Ended, true
		}
	}
	return result
}
