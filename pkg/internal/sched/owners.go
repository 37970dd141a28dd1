package sched

import (
	"container/heap"
	"maps"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// owner is what the scheduler keeps per task owner (task.Spec.Owner, the
// name of the API token a task came with; "" without tokens).
type owner struct {
	pending int   // runs not yet started
	running int   // runs holding a worker slot
	stored  int64 // estimated bytes of its tasks' records in the store
	// held are due runs taken out of the ready queue because the owner was
	// at its max-running; they go back as its running runs end.
	held byPriority
}

func (s *Scheduler) owner(name string) *owner {
	o, ok := s.owners[name]
	if !ok {
		o = &owner{}
		s.owners[name] = o
	}
	return o
}

// SetMaxRunning replaces the per-owner limits on runs executing at once:
// with limits[name] = N, at most N runs of owner name hold a worker slot
// at a time; an owner not in the map, or with N <= 0, has no limit. A
// running run counts until its outcome arrives (or its worker is lost),
// even when its task was canceled meanwhile: it still occupies the worker.
// Runs held back by a limit that was raised or removed are queued again.
func (s *Scheduler) SetMaxRunning(limits map[string]int) {
	s.maxRunning = maps.Clone(limits)
	for name := range s.owners {
		s.release(name)
	}
}

// PendingOf is the number of runs of owner name not yet started
// (scheduled or queued).
func (s *Scheduler) PendingOf(name string) int {
	if o, ok := s.owners[name]; ok {
		return o.pending
	}
	return 0
}

// RunningOf is the number of runs of owner name holding a worker slot.
func (s *Scheduler) RunningOf(name string) int {
	if o, ok := s.owners[name]; ok {
		return o.running
	}
	return 0
}

// room is how many more runs of owner name may start; -1 is no limit.
func (s *Scheduler) room(name string) int {
	limit := s.maxRunning[name]
	if limit <= 0 {
		return -1
	}
	return max(limit-s.RunningOf(name), 0)
}

func (s *Scheduler) atLimit(name string) bool { return s.room(name) == 0 }

// hold sets a due run aside while its owner is at its limit.
func (s *Scheduler) hold(name string, it item) {
	heap.Push(&s.owner(name).held, it)
}

// freed counts one run of owner name as no longer executing.
func (s *Scheduler) freed(name string) {
	s.owner(name).running--
	s.release(name)
}

// release returns held runs of owner name to the ready queue, best first,
// as many as it may start now. Canceled runs met on the way are dropped,
// so they take no room from live ones.
func (s *Scheduler) release(name string) {
	o := s.owners[name]
	if o == nil {
		return
	}
	room := s.room(name)
	for o.held.Len() > 0 && room != 0 {
		it := heap.Pop(&o.held).(item)
		if _, r := s.queued(it); r == nil || r.Status != task.Queued {
			continue
		}
		heap.Push(&s.ready, it)
		if room > 0 {
			room--
		}
	}
}
