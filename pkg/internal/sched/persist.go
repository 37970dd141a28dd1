package sched

import (
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Update is a run that reached a final state (succeeded, failed, canceled):
// what the caller must make durable.
type Update struct {
	Task string
	Run  task.Run
}

// TakeUpdates returns the runs that reached a final state since the last
// call, in the order they did.
func (s *Scheduler) TakeUpdates() []Update {
	u := s.updates
	s.updates = nil
	return u
}

func (s *Scheduler) ended(t *task.Task, r *task.Run) {
	s.updates = append(s.updates, Update{Task: t.Spec.ID, Run: *r})
}

// Restore puts back a task as it was recorded before a restart. Runs that
// had ended stay as they were; every other run is queued again, keeping its
// due time, so a schedule continues where it was and a run that was running
// when the gateway stopped runs again. A canceled task's unfinished runs
// are canceled, and returned as updates.
func (s *Scheduler) Restore(now time.Time, t task.Task) error {
	if _, ok := s.tasks[t.Spec.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, t.Spec.ID)
	}
	if t.Spec.Retries == nil {
		r := s.cfg.Retries
		t.Spec.Retries = &r
	}
	tp := &t
	s.tasks[t.Spec.ID] = tp
	s.order = append(s.order, tp)
	s.touch()
	canceled := t.Status == task.Canceled
	for i := range tp.Runs {
		r := &tp.Runs[i]
		switch {
		case r.Status.Done():
		case canceled:
			// Set directly, not by SetRunStatus: Refresh below recounts.
			r.Status, r.Ended = task.Canceled, now
			s.ended(tp, r)
		default:
			r.Worker, r.Started = "", time.Time{}
			s.push(now, tp, i, r.Due)
		}
	}
	tp.Refresh()
	return nil
}

// Status is the status of task id (and whether it exists), without the
// copy of all its runs that Task makes.
func (s *Scheduler) Status(id string) (task.Status, bool) {
	t, ok := s.tasks[id]
	if !ok {
		return "", false
	}
	return t.Status, true
}

// Run returns a copy of one run of a task.
func (s *Scheduler) Run(id string, index int) (task.Run, bool) {
	t, ok := s.tasks[id]
	if !ok || index < 0 || index >= len(t.Runs) {
		return task.Run{}, false
	}
	return t.Runs[index], true
}
