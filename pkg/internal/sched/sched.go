package sched

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Errors returned by the Scheduler.
var (
	// ErrExists: a task with that id was submitted before.
	ErrExists = errors.New("task exists")
	// ErrNotFound: no task with that id.
	ErrNotFound = errors.New("task not found")
	// ErrDone: the task has already ended.
	ErrDone = errors.New("task already ended")
)

// RunRef names one attempt of one run of a task. It is task.RunRef, which
// the wire carries too, named here as well because the scheduler's whole
// API speaks of it.
type RunRef = task.RunRef

// Dispatch is a decision: start this run attempt on that worker.
type Dispatch struct {
	Ref    RunRef
	Worker WorkerID
	Spec   task.Spec
	// Short: runs of its module are short (see short.go). The worker may
	// have been given it beyond its free slots, and it may travel in one
	// call with other short runs for the same worker.
	Short bool
}

// Config holds the defaults a scheduler fills in for tasks that leave them
// out.
type Config struct {
	Retries      int           // extra attempts after a lost worker
	RetryBackoff time.Duration // wait before the first retry; doubles per attempt
	MaxBackoff   time.Duration
	// Depth is how many short runs per slot a worker may hold, running or
	// waiting for a slot, while it holds no other run; 1 turns it off.
	Depth int
	// ShortRun: a module whose runs take less than this on average is short.
	ShortRun time.Duration
}

// DefaultConfig is what a gateway uses unless told otherwise.
func DefaultConfig() Config {
	return Config{Retries: 2, RetryBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, Depth: 32, ShortRun: 2 * time.Millisecond}
}

// Scheduler is the gateway's state: tasks, their runs and the workers, and
// the queues between them. It is not safe for concurrent use: one owner
// serializes the events.
type Scheduler struct {
	cfg     Config
	tasks   map[string]*task.Task
	order   []*task.Task
	workers map[WorkerID]*worker
	later   byDue      // runs not yet due
	ready   byPriority // due runs waiting for a worker
	// blocked holds due runs no worker in the pool could ever take (labels
	// it lacks, more memory than it offers); they return to ready when the
	// pool changes, so they cost nothing while they wait.
	blocked []item
	seq     uint64
	assigns uint64
	pending int // runs scheduled or queued: not running, not ended
	updates []Update
	tally   Tally
	// owners counts each owner's runs and holds its due runs while it is
	// at its limit of runs executing at once (see owners.go).
	owners     map[string]*owner
	maxRunning map[string]int
	estimates  estimates // how long runs of each module take
	// rev counts changes of tasks (see Revision); atomic, so that readers
	// can tell whether anything changed without the owner's lock.
	rev atomic.Uint64
}

// New returns an empty scheduler.
func New(cfg Config) *Scheduler {
	return &Scheduler{cfg: cfg, tasks: make(map[string]*task.Task), workers: make(map[WorkerID]*worker), owners: make(map[string]*owner)}
}

// Submit adds a task created at now. The spec must be valid and carry an ID;
// without Retries it gets the scheduler's.
func (s *Scheduler) Submit(now time.Time, spec task.Spec) (task.Task, error) {
	if spec.Retries == nil {
		r := s.cfg.Retries
		spec.Retries = &r
	}
	return s.SubmitTask(task.New(spec, now))
}

// SubmitTask adds a task made by task.New (the scheduler keeps t), whose
// spec is valid and carries an ID and Retries; its runs are queued from
// the time it was created.
func (s *Scheduler) SubmitTask(t *task.Task) (task.Task, error) {
	spec := &t.Spec
	if _, ok := s.tasks[spec.ID]; ok {
		return task.Task{}, fmt.Errorf("%w: %s", ErrExists, spec.ID)
	}
	now := t.Created
	s.tasks[spec.ID] = t
	s.order = append(s.order, t)
	s.touch()
	for i := range t.Runs {
		s.push(now, t, i, t.Runs[i].Due)
	}
	return t.Clone(), nil
}

// push queues run i: straight into the ready queue when it is due at now,
// else until it is.
func (s *Scheduler) push(now time.Time, t *task.Task, i int, due time.Time) {
	s.seq++
	s.pending++
	s.touch()
	s.owner(t.Spec.Owner).pending++
	it := item{ref: RunRef{Task: t.Spec.ID, Index: i, Attempt: t.Runs[i].Attempt}, due: due, priority: t.Spec.Priority, seq: s.seq}
	if due.After(now) {
		t.SetRunStatus(i, task.Scheduled)
		heap.Push(&s.later, it)
		return
	}
	t.SetRunStatus(i, task.Queued)
	heap.Push(&s.ready, it)
}

// current returns the run that ref names if ref is its current attempt.
func (s *Scheduler) current(ref RunRef) (*task.Task, *task.Run) {
	t, ok := s.tasks[ref.Task]
	if !ok || ref.Index < 0 || ref.Index >= len(t.Runs) {
		return nil, nil
	}
	r := &t.Runs[ref.Index]
	if r.Attempt != ref.Attempt {
		return t, nil
	}
	return t, r
}

// Assign moves runs that are due at now into the ready queue and places as
// many ready runs on workers as capacity allows.
func (s *Scheduler) Assign(now time.Time) []Dispatch {
	for s.later.Len() > 0 && !s.later[0].due.After(now) {
		it := heap.Pop(&s.later).(item)
		t, r := s.current(it.ref)
		if r == nil || r.Status != task.Scheduled {
			continue // canceled or superseded
		}
		t.SetRunStatus(it.ref.Index, task.Queued)
		s.touch()
		heap.Push(&s.ready, it)
	}
	if s.ready.Len() == 0 || !s.anyRoom() {
		return nil
	}
	var out []Dispatch
	var skipped []item
	// slotsOnly: a run that needs a free slot is waiting for one, so short
	// runs behind it take only free slots too, and workers' queues drain
	// until it gets one (else a stream of short runs would keep every slot
	// taken, and a first run of a new module would never start).
	slotsOnly := false
	for s.ready.Len() > 0 && len(skipped) < maxSkips && s.anyRoom() {
		it := heap.Pop(&s.ready).(item)
		t, r := s.current(it.ref)
		if r == nil || r.Status != task.Queued {
			continue
		}
		if s.atLimit(t.Spec.Owner) {
			// Aside until one of the owner's runs ends, so that its queue
			// neither runs past the limit nor stands in front of others.
			s.hold(t.Spec.Owner, it)
			continue
		}
		short := s.isShort(t.Spec.Module)
		w := s.place(&t.Spec, short && !slotsOnly)
		if w == nil && !s.placeable(&t.Spec) {
			s.blocked = append(s.blocked, it)
			continue
		}
		if w == nil {
			skipped = append(skipped, it) // fits once capacity frees up
			slotsOnly = slotsOnly || !short
			continue
		}
		s.assigns++
		s.pending--
		o := s.owner(t.Spec.Owner)
		o.pending--
		o.running++
		w.last = s.assigns
		w.used++
		w.runs++
		w.usedMem += t.Spec.Memory
		w.usedCPU += t.Spec.Cores
		w.running[it.ref] = slot{memory: t.Spec.Memory, cores: t.Spec.Cores, owner: t.Spec.Owner, short: short}
		if !short {
			w.long++
		}
		t.SetRunStatus(it.ref.Index, task.Running)
		s.touch()
		r.Worker = string(w.id)
		r.Started = now
		r.Timing = task.Timing{Queue: now.Sub(r.Due)}
		out = append(out, Dispatch{Ref: it.ref, Worker: w.id, Spec: t.Spec, Short: short})
	}
	for _, it := range skipped {
		heap.Push(&s.ready, it)
	}
	return out
}

// anyRoom reports whether some worker could take some run now.
func (s *Scheduler) anyRoom() bool {
	for _, w := range s.workers {
		if w.room(true, s.cfg.Depth) > 0 {
			return true
		}
	}
	return false
}

// maxSkips bounds how many due runs one Assign passes over because no
// worker has room for them right now, so a long queue of such runs cannot
// make every event slow.
const maxSkips = 64

// placeable reports whether some worker in the pool could take spec when
// idle.
func (s *Scheduler) placeable(spec *task.Spec) bool {
	for _, w := range s.workers {
		idle := *w
		idle.used, idle.usedMem, idle.usedCPU, idle.long = 0, 0, 0, 0
		if idle.offer.Slots > 0 && idle.fits(spec, false, 1) {
			return true
		}
	}
	return false
}

// place picks the best worker with room for spec: a free slot, or with
// queue (a short run), room in a worker's queue of short runs.
func (s *Scheduler) place(spec *task.Spec, queue bool) *worker {
	var best *worker
	for _, w := range s.workers {
		if w.fits(spec, queue, s.cfg.Depth) && (best == nil || w.better(best, spec.Module)) {
			best = w
		}
	}
	return best
}

// Pending is the number of runs not yet started.
func (s *Scheduler) Pending() int { return s.pending }

// NextDue is when the earliest scheduled run becomes due; ok is false when
// nothing is scheduled.
func (s *Scheduler) NextDue() (due time.Time, ok bool) {
	if s.later.Len() == 0 {
		return time.Time{}, false
	}
	return s.later[0].due, true
}

// Finished records the outcome of a run attempt. It returns false when the
// outcome is stale: the attempt was superseded, or the run was canceled, and
// the outcome is not counted. A lost attempt is retried while the task has
// retries left.
func (s *Scheduler) Finished(now time.Time, ref RunRef, o task.Outcome, worker WorkerID) bool {
	if w, ok := s.workers[worker]; ok {
		if sl, ok := w.running[ref]; ok {
			delete(w.running, ref)
			w.used--
			if !sl.short {
				w.long--
			}
			w.usedMem -= sl.memory
			w.usedCPU -= sl.cores
			s.freed(sl.owner)
		}
	}
	t, r := s.current(ref)
	if r == nil || r.Status != task.Running || r.Worker != string(worker) {
		return false
	}
	s.tally.count(o)
	if ran := o.Timing.Instantiate + o.Timing.Exec; !o.Lost && ran > 0 {
		// Only runs that reached their module: one refused before (a
		// directory not granted, a fetch or compile error) says nothing.
		s.estimates.add(t.Spec.Module, ran)
	}
	if o.Lost && ref.Attempt < *t.Spec.Retries {
		s.tally.Retried++
		r.Attempt++
		r.Worker = ""
		r.Error = o.Error
		s.push(now, t, ref.Index, now.Add(s.backoff(r.Attempt)))
		return true
	}
	s.touch()
	r.Ended = now
	r.ExitCode = o.ExitCode
	r.Result = o.Result
	r.Error = o.Error
	r.Truncated = o.Truncated
	r.Fuel = o.Fuel
	queue := r.Timing.Queue
	r.Timing = o.Timing
	r.Timing.Queue = queue + o.Timing.Queue // o's: waiting on the worker
	r.Timing.Total = now.Sub(r.Due)
	if o.OK {
		t.SetRunStatus(ref.Index, task.Succeeded)
		t.Completions++
		t.Result = o.Result
	} else {
		t.SetRunStatus(ref.Index, task.Failed)
	}
	s.ended(t, r)
	return true
}

func (s *Scheduler) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// Cancel ends a task: runs not yet started are canceled, and the returned
// running attempts should be stopped by the caller (their outcomes will be
// stale).
func (s *Scheduler) Cancel(now time.Time, id string) ([]Dispatch, error) {
	t, ok := s.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if t.Status.Done() {
		return nil, fmt.Errorf("%w: %s is %s", ErrDone, id, t.Status)
	}
	s.touch()
	var running []Dispatch
	for i := range t.Runs {
		r := &t.Runs[i]
		if r.Status.Done() {
			continue
		}
		if r.Status == task.Running {
			running = append(running, Dispatch{Ref: RunRef{Task: id, Index: i, Attempt: r.Attempt}, Worker: WorkerID(r.Worker)})
		} else {
			s.pending--
			s.owner(t.Spec.Owner).pending--
		}
		t.SetRunStatus(i, task.Canceled)
		r.Ended = now
		s.ended(t, r)
	}
	t.Status = task.Canceled
	return running, nil
}

// Offer adds a worker, or updates what it offers when it is known. Runs
// that were blocked for want of a suitable worker are looked at again.
func (s *Scheduler) Offer(id WorkerID, o Offer) {
	if w, ok := s.workers[id]; ok {
		w.update(o)
	} else {
		s.workers[id] = newWorker(id, o)
	}
	for _, it := range s.blocked {
		heap.Push(&s.ready, it)
	}
	s.blocked = nil
}

// RemoveWorker forgets a worker; its running attempts count as lost and are
// retried or failed, as Finished does.
func (s *Scheduler) RemoveWorker(now time.Time, id WorkerID, why string) {
	w, ok := s.workers[id]
	if !ok {
		return
	}
	refs := make([]RunRef, 0, len(w.running))
	for ref := range w.running {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b RunRef) int { return strings.Compare(a.String(), b.String()) })
	for _, ref := range refs {
		s.Finished(now, ref, task.Outcome{Lost: true, Error: "worker lost: " + why}, id)
	}
	delete(s.workers, id)
}

// Task returns a copy of the task with that id.
func (s *Scheduler) Task(id string) (task.Task, bool) {
	t, ok := s.tasks[id]
	if !ok {
		return task.Task{}, false
	}
	return t.Clone(), true
}

// Tasks returns copies of all tasks in creation order.
func (s *Scheduler) Tasks() []task.Task {
	out := make([]task.Task, len(s.order))
	for i, t := range s.order {
		out[i] = t.Clone()
	}
	return out
}

// Workers lists the known workers sorted by ID.
func (s *Scheduler) Workers() []WorkerInfo {
	out := make([]WorkerInfo, 0, len(s.workers))
	for _, w := range s.workers {
		out = append(out, w.info())
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Counts is a summary for health and metrics.
type Counts struct {
	Tasks, Workers, Slots, Used int
	// Pending counts runs not yet started (scheduled or queued) exactly;
	// Queued and Scheduled are the queue lengths, which may still hold
	// canceled runs until they are popped. Held is the part of Queued held
	// back because its owner is at its max-running.
	Pending, Queued, Scheduled, Held int
	// Waiting counts short runs given to workers beyond their slots: sent,
	// or about to be, and waiting there for a slot (Used counts at most
	// every slot).
	Waiting int
}

// Counts summarizes the state.
func (s *Scheduler) Counts() Counts {
	c := Counts{Tasks: len(s.order), Pending: s.pending, Scheduled: s.later.Len(), Workers: len(s.workers)}
	for _, o := range s.owners {
		c.Held += o.held.Len()
	}
	c.Queued = s.ready.Len() + len(s.blocked) + c.Held
	for _, w := range s.workers {
		c.Slots += w.offer.Slots
		c.Used += min(w.used, w.offer.Slots)
		c.Waiting += max(0, w.used-w.offer.Slots)
	}
	return c
}
