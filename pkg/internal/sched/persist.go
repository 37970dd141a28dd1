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
	// Proc: the run of a spawned process, which is not stored (the
	// caller reports it Saved at once, then Forgets it).
	Proc bool
	// entry is the task it is of: a purged task's id may name a new one.
	entry *entry
}

// TakeUpdates returns the runs that reached a final state since the last
// call, in the order they did. The caller stores them and reports each
// with Saved or Unsaved.
func (s *Scheduler) TakeUpdates() []Update {
	u := s.updates
	s.updates = nil
	return u
}

// Saved makes final the runs of updates whose records are stored: until
// now they showed as running. The task's status, completions and result
// follow; a task whose last run this was has ended, and keeps only its
// summary in memory. Updates of canceled runs (already final) and stale
// ones are passed over.
func (s *Scheduler) Saved(updates []Update) {
	for _, u := range updates {
		e := u.entry
		e.writes--
		if s.tasks[u.Task] != e {
			continue // purged
		}
		if r := e.live[u.Run.Index]; r != nil && r.saving && r.Attempt == u.Run.Attempt && u.Run.Status != task.Canceled {
			e.drop(r, u.Run.Status, u.Run.Ended)
			s.storedRun(e, &u.Run)
		}
		e.trim()
		s.touch()
	}
}

// Unsaved takes back the outcomes of updates whose records could not be
// stored (a full disk): the runs run again, as a later attempt (which uses
// one of the task's retries, as a lost attempt does), so that nothing
// shows an outcome the store does not have and a late answer of the old
// attempt is stale. why becomes the runs' error until they end again. It
// returns how many runs it put back.
func (s *Scheduler) Unsaved(now time.Time, updates []Update, why string) int {
	n := 0
	for _, u := range updates {
		e := u.entry
		e.writes--
		if s.tasks[u.Task] != e {
			continue // purged
		}
		r := e.live[u.Run.Index]
		if r == nil || !r.saving || r.Attempt != u.Run.Attempt {
			e.trim()
			continue
		}
		r.saving = false
		r.Attempt++
		r.Worker = ""
		r.Error = why
		if e.status == task.Canceled {
			e.drop(r, task.Canceled, now)
			e.trim()
			continue
		}
		n++
		s.push(now, e, r, now.Add(s.backoff(r.Attempt)))
	}
	return n
}

// recordBytes estimates what run r's record takes in the store, without
// its result.
func recordBytes(r *task.Run) int64 {
	return int64(96 + len(r.Worker) + len(r.Error))
}

// storedRun counts the record of run r, stored, in e's bytes: its result
// while it is among the task's newest Config.KeepResults, which the store
// keeps whole (it drops the older ones' results).
func (s *Scheduler) storedRun(e *entry, r *task.Run) {
	s.addStored(e, recordBytes(r)+int64(len(r.Result)))
	if s.cfg.KeepResults <= 0 {
		return
	}
	e.results = append(e.results, len(r.Result))
	if len(e.results) > s.cfg.KeepResults {
		s.addStored(e, -int64(e.results[0]))
		e.results = e.results[1:]
	}
}

// Restore puts back a task as the store holds it after a restart. Runs
// that ended stay ended (they are in the store); runs below rec.Made
// that had not ended are queued again, keeping their due times, so a
// schedule continues where it was and a run that was running when the
// gateway stopped runs again; the runs from rec.Made on come as they
// would have. A canceled task's unfinished runs count as canceled. The
// runs it queues (the open ones, and those made until hold) are due no
// sooner than hold: a worker that went on with one after the last
// gateway was lost may hand it over by then (Adopt). A job's are not
// held.
func (s *Scheduler) Restore(now time.Time, rec task.Record, hold time.Time) error {
	spec := rec.Spec
	if spec.Job != nil {
		hold = time.Time{} // a job's attempt is never held by its worker
	}
	if _, ok := s.tasks[spec.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, spec.ID)
	}
	if spec.Retries == nil {
		r := s.cfg.Retries
		spec.Retries = &r
	}
	e := newEntry(spec, rec.Created)
	e.completions += int64(rec.Succeeded)
	e.failed = rec.Failed
	e.ended = rec.Ended
	e.made = min(rec.Made, e.count())
	s.add(e)
	s.addStored(e, rec.Bytes)
	if rec.Canceled {
		e.status = task.Canceled
		if rec.CanceledAt.After(e.ended) {
			e.ended = rec.CanceledAt
		}
		e.trim()
		return nil
	}
	for _, o := range rec.Open {
		if o.Index < 0 || o.Index >= e.made {
			continue
		}
		due := o.Due
		if due.Before(hold) {
			due = hold
		}
		r := &liveRun{Run: task.Run{Index: o.Index, Attempt: o.Attempt, Status: task.Scheduled, Due: due}}
		e.live[o.Index] = r
		e.n.scheduled++
		s.push(now, e, r, r.Due)
	}
	s.toCome(e, e.unmade())
	e.hold = hold
	s.makeNext(now, e)
	e.derive()
	e.trim()
	return nil
}

// Status is the status of task id (and whether it exists), without the
// copy Task makes.
func (s *Scheduler) Status(id string) (task.Status, bool) {
	e, ok := s.tasks[id]
	if !ok || e.purging {
		return "", false
	}
	return e.status, true
}

// Owner is the owner of task id (and whether it exists).
func (s *Scheduler) Owner(id string) (string, bool) {
	e, ok := s.tasks[id]
	if !ok || e.purging {
		return "", false
	}
	return e.spec.Owner, true
}

// Done reports whether task id has ended with every record of it stored
// (false for a task it does not hold).
func (s *Scheduler) Done(id string) bool {
	e, ok := s.tasks[id]
	return ok && e.done()
}

// Purging a task is in two steps, so that the store deletes its records
// before the scheduler lets it go (a delete the store refuses, say on a
// full disk, leaves the task as it was): BeginPurge hides it from views
// and checks that nothing of it is under way; then Purge forgets it, or
// AbortPurge shows it again.

// BeginPurge hides task id, which must have ended with every record
// stored and no run still on a worker (ErrNotDone otherwise), from views,
// until Purge or AbortPurge.
func (s *Scheduler) BeginPurge(id string) error {
	e, ok := s.tasks[id]
	switch {
	case !ok || e.purging:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case !e.done():
		return fmt.Errorf("%w: %s is %s", ErrNotDone, id, e.status)
	case s.onWorkers(id):
		// Canceled runs still held by workers: their slots are known by
		// run, and a new task of the same id must not take their place.
		return fmt.Errorf("%w: %s has canceled runs still ending on workers", ErrNotDone, id)
	}
	e.purging = true
	s.touch()
	return nil
}

// AbortPurge shows task id again: its records could not be deleted.
func (s *Scheduler) AbortPurge(id string) {
	if e, ok := s.tasks[id]; ok && e.purging {
		e.purging = false
		s.touch()
	}
}

// Purge forgets task id, after BeginPurge: the store has deleted its
// records.
func (s *Scheduler) Purge(id string) {
	e, ok := s.tasks[id]
	if !ok || !e.purging {
		return
	}
	delete(s.tasks, id)
	s.order[e.seq-1-s.base] = nil
	for len(s.order) > 0 && s.order[0] == nil { // purged oldest first, as retention does
		s.order = s.order[1:]
		s.base++
	}
	s.owner(e.spec.Owner).stored -= e.stored
	s.touch()
}

// onWorkers reports whether a worker still holds a run of task id.
func (s *Scheduler) onWorkers(id string) bool {
	for _, w := range s.workers {
		for ref := range w.running {
			if ref.Task == id {
				return true
			}
		}
	}
	return false
}

// Expired lists up to n tasks that ended before cutoff, oldest first
// by creation, for retention.
func (s *Scheduler) Expired(cutoff time.Time, n int) []string {
	busy := make(map[string]bool) // tasks with runs still on workers
	for _, w := range s.workers {
		for ref := range w.running {
			busy[ref.Task] = true
		}
	}
	var out []string
	for _, e := range s.order {
		if len(out) == n {
			break
		}
		if e != nil && !e.purging && e.done() && e.ended.Before(cutoff) && !busy[e.spec.ID] {
			out = append(out, e.spec.ID)
		}
	}
	return out
}

// StoredOf estimates the bytes the records of owner name's tasks take
// in the store.
func (s *Scheduler) StoredOf(name string) int64 {
	if o, ok := s.owners[name]; ok {
		return o.stored
	}
	return 0
}

// addStored counts n more bytes of e's records in the store.
func (s *Scheduler) addStored(e *entry, n int64) {
	e.stored += n
	s.owner(e.spec.Owner).stored += n
}

// specBytes estimates what the record of a task of spec takes in the
// store.
func specBytes(spec *task.Spec) int64 {
	n := 160 + len(spec.ID) + len(spec.Description) + len(spec.Stdin)
	for _, xs := range [][]string{spec.Args, spec.Env, spec.Labels, spec.Dirs} {
		for _, x := range xs {
			n += len(x) + 2
		}
	}
	if spec.Job != nil {
		n += spec.Job.Bytes()
	}
	return int64(n)
}
