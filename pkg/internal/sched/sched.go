package sched

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
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
	// ErrNotDone: the task has not ended (or its records are still being
	// stored).
	ErrNotDone = errors.New("task has not ended")
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
	// Adopted: the worker runs it already (it held it, see Adopt): the
	// gateway asks for its result rather than starting it.
	Adopted bool
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
	// KeepResults is how many of a task's newest results the store keeps
	// whole (store.Options.KeepResults), for the estimate of stored bytes;
	// 0: all.
	KeepResults int
}

// DefaultConfig is what a gateway uses unless told otherwise.
func DefaultConfig() Config {
	return Config{Retries: 2, RetryBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, Depth: 32, ShortRun: 2 * time.Millisecond}
}

// Scheduler is the gateway's state: tasks, their runs and the workers, and
// the queues between them. It is not safe for concurrent use: one owner
// serializes the events.
type Scheduler struct {
	cfg   Config
	tasks map[string]*entry
	// order is every task in creation order from seq base+1: a task's
	// seq names it for good, so a purged task leaves a nil behind, and the
	// nils at the front are dropped (base counts them).
	order   []*entry
	base    uint64
	workers map[WorkerID]*worker
	later   byDue      // runs not yet due
	ready   byPriority // due runs waiting for a worker
	procs   byPriority // processes waiting for room (process.go)
	// blocked holds due runs no worker in the pool could ever take (labels
	// it lacks, more memory than it offers); they return to ready when the
	// pool changes, so they cost nothing while they wait.
	blocked []item
	seq     uint64
	assigns uint64
	pending int // runs scheduled or queued: not running, not ended
	// delayed counts the runs to come (not yet made) of tasks with a delay
	// between runs: not yet due, for Counts.
	delayed int
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
	return &Scheduler{cfg: cfg, tasks: make(map[string]*entry), workers: make(map[WorkerID]*worker), owners: make(map[string]*owner)}
}

// Submit adds a task created at now. The spec must be valid and carry an ID;
// without Retries it gets the scheduler's. Its runs are made one at a
// time, each when the one before it starts, so a task of many repeats
// costs its first run until then.
func (s *Scheduler) Submit(now time.Time, spec task.Spec) (Snapshot, error) {
	if spec.Retries == nil {
		r := s.cfg.Retries
		spec.Retries = &r
	}
	if _, ok := s.tasks[spec.ID]; ok {
		return Snapshot{}, fmt.Errorf("%w: %s", ErrExists, spec.ID)
	}
	e := newEntry(spec, now)
	s.add(e)
	s.addStored(e, specBytes(&spec))
	s.toCome(e, e.count())
	s.makeNext(now, e)
	return e.snapshot(), nil
}

// add puts e in the index.
func (s *Scheduler) add(e *entry) {
	s.order = append(s.order, e)
	e.seq = s.base + uint64(len(s.order))
	s.tasks[e.spec.ID] = e
	s.touch()
}

// makeNext makes e's next run, if it has one to come, and queues it: due
// no sooner than e's hold.
func (s *Scheduler) makeNext(now time.Time, e *entry) {
	if e.unmade() == 0 || e.status == task.Canceled {
		return
	}
	if e.spec.Delay > 0 {
		s.delayed-- // made: the queues count it from now on
	}
	r := e.make()
	if !now.Before(e.hold) {
		e.hold = time.Time{}
	} else if r.Due.Before(e.hold) {
		r.Due = e.hold
	}
	s.queue(now, e, r, r.Due)
}

// toCome counts n more runs of e not started and not yet made.
func (s *Scheduler) toCome(e *entry, n int) {
	s.pending += n
	s.owner(e.spec.Owner).pending += n
	if e.spec.Delay > 0 {
		s.delayed += n
	}
}

// push queues a run again (a retry, or one restored): it counts as not
// started once more.
func (s *Scheduler) push(now time.Time, e *entry, r *liveRun, due time.Time) {
	s.pending++
	s.owner(e.spec.Owner).pending++
	s.queue(now, e, r, due)
}

// queue puts run r in the ready queue when it is due at now, else in the
// queue of runs not yet due.
func (s *Scheduler) queue(now time.Time, e *entry, r *liveRun, due time.Time) {
	s.seq++
	s.touch()
	it := item{ref: RunRef{Task: e.spec.ID, Index: r.Index, Attempt: r.Attempt}, task: e, due: due, priority: e.spec.Priority, seq: s.seq}
	if due.After(now) {
		e.setStatus(r, task.Scheduled)
		heap.Push(&s.later, it)
		return
	}
	e.setStatus(r, task.Queued)
	if e.proc {
		heap.Push(&s.procs, it)
		return
	}
	heap.Push(&s.ready, it)
}

// current returns the run that ref names if ref is its current attempt.
func (s *Scheduler) current(ref RunRef) (*entry, *liveRun) {
	e, ok := s.tasks[ref.Task]
	if !ok {
		return nil, nil
	}
	r := e.live[ref.Index]
	if r == nil || r.Attempt != ref.Attempt {
		return e, nil
	}
	return e, r
}

// queued returns the run item it queued if it is still current: its
// task is the one it was queued for and its attempt the run's.
func (s *Scheduler) queued(it item) (*entry, *liveRun) {
	if s.tasks[it.ref.Task] != it.task {
		return nil, nil
	}
	return s.current(it.ref)
}

// Assign moves runs that are due at now into the ready queue and places as
// many ready runs on workers as capacity allows.
func (s *Scheduler) Assign(now time.Time) []Dispatch {
	out := s.assignProcesses(now)
	for s.later.Len() > 0 && !s.later[0].due.After(now) {
		it := heap.Pop(&s.later).(item)
		e, r := s.queued(it)
		if r == nil || r.Status != task.Scheduled {
			continue // canceled or superseded
		}
		e.setStatus(r, task.Queued)
		s.touch()
		heap.Push(&s.ready, it)
	}
	if s.ready.Len() == 0 || !s.anyRoom() {
		return out
	}
	var skipped []item
	// slotsOnly: a run that needs a free slot is waiting for one, so short
	// runs behind it take only free slots too, and workers' queues drain
	// until it gets one (else a stream of short runs would keep every slot
	// taken, and a first run of a new module would never start).
	slotsOnly := false
	for s.ready.Len() > 0 && len(skipped) < maxSkips && s.anyRoom() {
		it := heap.Pop(&s.ready).(item)
		e, r := s.queued(it)
		if r == nil || r.Status != task.Queued {
			continue
		}
		if s.atLimit(e.spec.Owner) {
			// Aside until one of the owner's runs ends, so that its queue
			// neither runs past the limit nor stands in front of others.
			s.hold(e.spec.Owner, it)
			continue
		}
		short := e.spec.Job == nil && !e.spec.Shared && s.isShort(e.spec.Module) // a job, or a run with files, goes alone
		w := s.place(&e.spec, short && !slotsOnly)
		if w == nil && !s.placeable(&e.spec) {
			s.blocked = append(s.blocked, it)
			continue
		}
		if w == nil {
			skipped = append(skipped, it) // fits once capacity frees up
			slotsOnly = slotsOnly || !short
			continue
		}
		out = append(out, s.start(now, e, r, it.ref, w, short, false))
		if r.Index == e.made-1 {
			// The newest run has started: the next one may be queued
			// (and, when due now, started in this same loop).
			s.makeNext(now, e)
		}
	}
	for _, it := range skipped {
		heap.Push(&s.ready, it)
	}
	return out
}

// start runs r, of e, on w now: the worker holds its reservation (and a
// slot, unless it is a process) until Finished gives them back.
func (s *Scheduler) start(now time.Time, e *entry, r *liveRun, ref RunRef, w *worker, short, proc bool) Dispatch {
	s.assigns++
	s.pending--
	o := s.owner(e.spec.Owner)
	o.pending--
	o.running++
	w.last = s.assigns
	w.runs++
	w.usedMem += e.spec.Memory
	w.usedCPU += e.spec.Cores
	w.running[ref] = slot{memory: e.spec.Memory, cores: e.spec.Cores, owner: e.spec.Owner, short: short, proc: proc}
	if !proc {
		w.used++
		if !short {
			w.long++
		}
	}
	e.setStatus(r, task.Running)
	s.touch()
	r.Worker = string(w.id)
	r.Started = now
	r.Timing = task.Timing{Queue: now.Sub(r.Due)}
	return Dispatch{Ref: ref, Worker: w.id, Spec: e.spec, Short: short}
}

// Adopt makes run ref, which worker id went on with after it lost the
// gateway that started it (a failover, or that gateway's crash), running
// there, when the run is still to be done: its task is neither canceled
// nor ended, the run waits to start again (restored as open) or is yet
// to be made, and ref's attempt is not older than the run's. The worker has taken a slot for
// it. A run that another worker has started again since is not adopted:
// each run's outcome is counted once.
func (s *Scheduler) Adopt(now time.Time, ref RunRef, id WorkerID) (Dispatch, bool) {
	w, ok := s.workers[id]
	e, found := s.tasks[ref.Task]
	if !ok || !found || e.purging || e.status.Done() || e.spec.Job != nil || e.proc {
		return Dispatch{}, false
	}
	// Runs are made one at a time, when the one before starts, and the
	// store knows them only up to the highest that ended: a run under way
	// at a failover (so were all before it) may not be made yet.
	for ref.Index >= e.made && ref.Index < e.count() {
		s.makeNext(now, e)
	}
	r := e.live[ref.Index]
	if r == nil || r.saving || (r.Status != task.Scheduled && r.Status != task.Queued) || ref.Attempt < r.Attempt {
		return Dispatch{}, false
	}
	r.Attempt = ref.Attempt // its queue items, of an older attempt, are stale now
	if r.Due.After(now) {
		r.Due = now // it waited for its worker to come back (AdoptWait), not in the queue
	}
	d := s.start(now, e, r, ref, w, false, false)
	d.Adopted = true
	if r.Index == e.made-1 {
		s.makeNext(now, e)
	}
	return d, true
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
// retries left. Otherwise the run has ended: it is returned as its final
// record, and among the updates to store (TakeUpdates); until the caller
// reports it stored (Saved), it still shows as running, so nothing shows a
// result the store does not have.
func (s *Scheduler) Finished(now time.Time, ref RunRef, o task.Outcome, worker WorkerID) (bool, task.Run) {
	if w, ok := s.workers[worker]; ok {
		if sl, ok := w.running[ref]; ok {
			delete(w.running, ref)
			if !sl.proc {
				w.used--
			}
			if !sl.short && !sl.proc {
				w.long--
			}
			w.usedMem -= sl.memory
			w.usedCPU -= sl.cores
			s.freed(sl.owner)
		}
	}
	e, r := s.current(ref)
	if r == nil || r.Status != task.Running || r.saving || r.Worker != string(worker) {
		return false, task.Run{}
	}
	s.tally.count(o)
	if ran := o.Timing.Instantiate + o.Timing.Exec; !o.Lost && ran > 0 && e.spec.Job == nil {
		// Only runs that reached their module: one refused before (a
		// directory not granted, a fetch or compile error) says nothing.
		s.estimates.add(e.spec.Module, ran)
	}
	if o.Lost && ref.Attempt < *e.spec.Retries {
		s.tally.Retried++
		r.Attempt++
		r.Worker = ""
		r.Error = o.Error
		s.push(now, e, r, now.Add(s.backoff(r.Attempt)))
		return true, r.Run
	}
	final := r.Run
	final.Ended = now
	final.ExitCode = o.ExitCode
	final.Result = o.Result
	final.Error = o.Error
	final.Truncated = o.Truncated
	final.Fuel = o.Fuel
	final.Timing = o.Timing
	final.Timing.Queue = r.Timing.Queue + o.Timing.Queue // o's: waiting on the worker
	final.Timing.Total = now.Sub(r.Due)
	final.Status = task.Failed
	if o.OK {
		final.Status = task.Succeeded
	}
	r.saving = true
	s.update(e, final)
	return true, final
}

func (s *Scheduler) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// update adds run r of e to the updates to store.
func (s *Scheduler) update(e *entry, r task.Run) {
	e.writes++
	s.updates = append(s.updates, Update{Task: e.spec.ID, Run: r, Proc: e.proc, entry: e})
}

// Cancel ends a task: runs not yet started are canceled, and the returned
// running attempts should be stopped by the caller (their outcomes will be
// stale). A run whose outcome is being stored ends as it did. The runs it
// cancels are updates to store; the runs yet to come are canceled without
// a record (a view shows them canceled).
func (s *Scheduler) Cancel(now time.Time, id string) ([]Dispatch, error) {
	e, ok := s.tasks[id]
	if !ok || e.purging {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if e.status.Done() {
		return nil, fmt.Errorf("%w: %s is %s", ErrDone, id, e.status)
	}
	s.touch()
	var running []Dispatch
	s.toCome(e, -e.unmade())
	for _, i := range slices.Sorted(maps.Keys(e.live)) {
		r := e.live[i]
		switch {
		case r.saving:
			continue
		case r.Status == task.Running:
			running = append(running, Dispatch{Ref: RunRef{Task: id, Index: i, Attempt: r.Attempt}, Worker: WorkerID(r.Worker)})
		default:
			s.pending--
			s.owner(e.spec.Owner).pending--
		}
		rec := r.Run
		rec.Status, rec.Ended = task.Canceled, now
		e.drop(r, task.Canceled, now)
		s.addStored(e, recordBytes(&rec))
		s.update(e, rec)
	}
	e.status = task.Canceled
	if now.After(e.ended) {
		e.ended = now
	}
	e.trim()
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

// Task returns a snapshot of the task with that id.
func (s *Scheduler) Task(id string) (Snapshot, bool) {
	e, ok := s.tasks[id]
	if !ok || e.purging {
		return Snapshot{}, false
	}
	return e.snapshot(), true
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
	// Pending counts runs not yet started exactly. Scheduled counts the
	// runs not yet due: those made (a queue, which may still hold canceled
	// runs until they are popped) and those to come of tasks with a delay
	// between runs; Queued is the rest of Pending, due and waiting for a
	// worker. Held counts runs set aside because their owner is at its
	// max-running (a task's runs to come wait behind its next run, held).
	Pending, Queued, Scheduled, Held int
	// Waiting counts short runs given to workers beyond their slots: sent,
	// or about to be, and waiting there for a slot (Used counts at most
	// every slot).
	Waiting int
}

// Counts summarizes the state.
func (s *Scheduler) Counts() Counts {
	c := Counts{Tasks: len(s.tasks), Pending: s.pending, Scheduled: s.later.Len() + s.delayed, Workers: len(s.workers)}
	for _, o := range s.owners {
		c.Held += o.held.Len()
	}
	c.Queued = max(s.pending-c.Scheduled, 0)
	for _, w := range s.workers {
		c.Slots += w.offer.Slots
		c.Used += min(w.used, w.offer.Slots)
		c.Waiting += max(0, w.used-w.offer.Slots)
	}
	return c
}
