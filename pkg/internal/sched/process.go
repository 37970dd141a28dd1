package sched

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Processes (docs/PROCESSES.md) are runs a running run spawned. The
// scheduler places them like tasks of one run, with three differences:
// they take no slot (a parent blocked on its children uses none, and
// would deadlock a worker whose slots its children wait for), only the
// cores and memory they reserve; they never wait behind their owner's
// limit of runs at once, for the same reason; and they are not in the
// views' creation order (their tree is shown with their root task) nor
// in the store: the gateway forgets each once it has ended (Forget).

// SubmitProcess adds a spawned process as a task of one run, with no
// retries (a new attempt would not know what its predecessor received:
// the parent is told and decides). near, when set, is the worker it
// should go to while that worker has room for it.
func (s *Scheduler) SubmitProcess(now time.Time, spec task.Spec, near WorkerID) (Snapshot, error) {
	none := 0
	spec.Retries, spec.Repeats = &none, 1
	// Counted apart from the task's owner: a process never waits behind
	// its owner's limit of runs at once, nor counts towards it or towards
	// its queue.
	spec.Owner = processOwner
	if _, ok := s.tasks[spec.ID]; ok {
		return Snapshot{}, fmt.Errorf("%w: %s", ErrExists, spec.ID)
	}
	e := newEntry(spec, now)
	e.proc, e.near = true, near
	s.tasks[spec.ID] = e
	s.touch()
	s.toCome(e, 1)
	s.makeNext(now, e)
	return e.snapshot(), nil
}

// processOwner is the owner the scheduler counts processes under: no
// token can have the name.
const processOwner = "\x00processes"

// Placeable reports whether some worker in the pool could take a process
// of spec when idle: one that could not waits for ever.
func (s *Scheduler) Placeable(spec *task.Spec) bool {
	for _, w := range s.workers {
		if w.holds(spec, 0, 0) {
			return true
		}
	}
	return false
}

// Forget drops process id, which has ended, once the gateway has told its
// parent: no record of it is stored.
func (s *Scheduler) Forget(id string) {
	e, ok := s.tasks[id]
	if !ok || !e.proc {
		return
	}
	delete(s.tasks, id)
	s.owner(e.spec.Owner).stored -= e.stored
	s.touch()
}

// assignProcesses places the processes waiting for room.
func (s *Scheduler) assignProcesses(now time.Time) []Dispatch {
	var out []Dispatch
	var skipped []item
	for s.procs.Len() > 0 && len(skipped) < maxSkips {
		it := heap.Pop(&s.procs).(item)
		e, r := s.queued(it)
		if r == nil || r.Status != task.Queued {
			continue
		}
		w := s.placeProcess(e)
		if w == nil {
			skipped = append(skipped, it) // the spawn checked it can fit
			continue
		}
		out = append(out, s.start(now, e, r, it.ref, w, false, true))
	}
	for _, it := range skipped {
		heap.Push(&s.procs, it)
	}
	return out
}

// placeProcess picks the worker for process e: the one it should be near
// while that one has room, else the one with the most cores free, then
// the warm one.
func (s *Scheduler) placeProcess(e *entry) *worker {
	if w := s.workers[e.near]; w != nil && w.holds(&e.spec, w.usedMem, w.usedCPU) {
		return w
	}
	var best *worker
	for _, w := range s.workers {
		if !w.holds(&e.spec, w.usedMem, w.usedCPU) {
			continue
		}
		if best == nil || w.roomier(best, e.spec.Module) {
			best = w
		}
	}
	return best
}

// Free is what worker id has left to reserve: cores and memory.
func (s *Scheduler) Free(id WorkerID) (cores api.Millicores, memory uint64, ok bool) {
	w := s.workers[id]
	if w == nil {
		return 0, 0, false
	}
	return w.offer.Cores - min(w.usedCPU, w.offer.Cores), w.offer.Memory - min(w.usedMem, w.offer.Memory), true
}

// Largest is the most cores and the most memory one worker of the pool
// offers, and how many workers there are: a run that asks for more could
// never start while the pool is as it is.
func (s *Scheduler) Largest() (cores api.Millicores, memory uint64, workers int) {
	for _, w := range s.workers {
		cores = max(cores, w.offer.Cores)
		memory = max(memory, w.offer.Memory)
	}
	return cores, memory, len(s.workers)
}

// SetDraining makes worker id take no new runs (on) or take them again;
// the runs it holds go on. It reports whether the pool has the worker.
func (s *Scheduler) SetDraining(id WorkerID, on bool) bool {
	w, ok := s.workers[id]
	if ok {
		w.draining = on
	}
	return ok
}

// Demand counts the due runs waiting for room that a worker like those
// in the pool could give: the queued runs, less those found to need what
// no worker in the pool offers (labels, memory or cores: Assign sets
// them aside when it comes to them), which a new worker of the same kind
// would not take either; all of them when the pool is empty.
func (s *Scheduler) Demand() int {
	q := max(s.pending-s.later.Len()-s.delayed, 0)
	if len(s.workers) == 0 {
		return q
	}
	return max(q-len(s.blocked), 0)
}
