package sched

import (
	"maps"
	"slices"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// What the scheduler keeps of a task is bounded whatever the task's size
// (docs/ARCHITECTURE.md "Memory"): a run exists in memory only from when
// it is made, at the latest when its predecessor starts, until its final
// record is stored; a run that has ended lives in the store alone, with
// its result. So a task of a million repeats holds a few runs, not a
// million, and a task that has ended holds a summary: its status, counts
// and the part of its spec that placement and quotas read. Views of a
// task (the gateway's Task, TaskRuns, Page) add the ended runs from the
// store.

// entry is a task as the scheduler keeps it.
type entry struct {
	spec    task.Spec // trimmed (see trim) once the task has ended
	seq     uint64    // its place in s.order, from 1
	created time.Time
	status  task.Status
	// completions counts runs that succeeded and are recorded, from
	// spec.Complete.
	completions int64
	// made: runs [0, made) have been made; each of them is in live until
	// its final record is stored. Runs from made on are yet to come.
	made int
	live map[int]*liveRun
	// n counts live runs by status, and failed the recorded runs that
	// failed, so that a run's change updates the task's status in
	// constant time.
	n      struct{ running, queued, scheduled int }
	failed int
	ended  time.Time // when its last run ended; zero until then
	// stored estimates the bytes its records take in the store, for
	// per-owner quotas of stored bytes; results holds the result sizes of
	// its newest runs stored, whose results the store keeps whole.
	stored  int64
	results []int
	// writes counts its updates taken to be stored and not yet reported
	// (Saved, Unsaved): until then it is not done, so not purged.
	writes int
	// purging: its records are being deleted (BeginPurge); views pass it
	// over.
	purging bool
	// proc: a spawned process (process.go), placed near that worker when
	// it has room.
	proc bool
	near WorkerID
	// hold: the runs made before it are due no sooner (Restore's hold,
	// for their workers to hand them over: Adopt); zero once it passed.
	hold time.Time
}

// liveRun is a run in memory. saving: its outcome is known and its
// final record is being written; it shows as running until Saved.
type liveRun struct {
	task.Run
	saving bool
}

func newEntry(spec task.Spec, created time.Time) *entry {
	return &entry{spec: spec, created: created, status: task.Scheduled, completions: spec.Complete, live: make(map[int]*liveRun)}
}

// count is the number of runs the task asks for.
func (e *entry) count() int { return e.spec.RunCount() }

// unmade is the number of runs yet to come.
func (e *entry) unmade() int { return e.count() - e.made }

// make makes the next run, scheduled at its due time, and returns it.
func (e *entry) make() *liveRun {
	i := e.made
	e.made++
	r := &liveRun{Run: task.Run{Index: i, Status: task.Scheduled, Due: e.spec.Due(e.created, i)}}
	e.live[i] = r
	e.n.scheduled++
	return r
}

func (e *entry) add(s task.Status, d int) {
	switch s {
	case task.Running:
		e.n.running += d
	case task.Queued:
		e.n.queued += d
	case task.Scheduled:
		e.n.scheduled += d
	}
}

// setStatus changes live run r's status and the task's with it.
func (e *entry) setStatus(r *liveRun, s task.Status) {
	e.add(r.Status, -1)
	r.Status = s
	e.add(s, 1)
	e.derive()
}

// drop removes live run r, which has ended with status final (recorded,
// or canceled), and counts it.
func (e *entry) drop(r *liveRun, final task.Status, ended time.Time) {
	e.add(r.Status, -1)
	delete(e.live, r.Index)
	switch final {
	case task.Succeeded:
		e.completions++
	case task.Failed:
		e.failed++
	}
	if ended.After(e.ended) {
		e.ended = ended
	}
	e.derive()
}

// derive sets the task's status from its runs: canceled stays canceled;
// any running run makes it running, else any run waiting for a worker
// queued, else any run to come scheduled; when every run has ended it
// failed if one of them failed.
func (e *entry) derive() {
	if e.status == task.Canceled {
		return
	}
	switch {
	case e.n.running > 0:
		e.status = task.Running
	case e.n.queued > 0:
		e.status = task.Queued
	case e.n.scheduled > 0 || e.unmade() > 0:
		e.status = task.Scheduled
	case e.failed > 0:
		e.status = task.Failed
	default:
		e.status = task.Succeeded
	}
}

// done reports whether the task has ended and every record of it is
// stored: nothing of it will run or change again.
func (e *entry) done() bool { return e.status.Done() && len(e.live) == 0 && e.writes == 0 }

// trim releases what only runs need (stdin, arguments, environment)
// once none is left to run: the store keeps the whole spec for views.
func (e *entry) trim() {
	if !e.done() {
		return
	}
	e.spec = task.Spec{
		ID: e.spec.ID, Owner: e.spec.Owner, Module: e.spec.Module, Repeats: e.spec.Repeats,
		Priority: e.spec.Priority, Complete: e.spec.Complete, Retries: e.spec.Retries,
		Job: e.spec.Job.Trimmed(),
	}
	e.live = nil // no run will be made again
	e.results = nil
	if e.ended.IsZero() {
		e.ended = e.created
	}
}

// Snapshot is a copy of what the scheduler holds of a task: everything
// but the runs that ended and are stored. Task.Runs holds the runs still
// in memory, by index; Made tells runs that are yet to come (from Made on)
// from the ones that ended (below Made, not in Runs).
type Snapshot struct {
	Task task.Task
	Made int
	// Trimmed: Task.Spec holds only the fields trim keeps (the task has
	// ended); the store has the rest.
	Trimmed bool
	Seq     uint64    // its place in creation order, from 1
	Ended   time.Time // when its last run ended; zero until it has
	Stored  int64     // estimated bytes of its records in the store
}

func (e *entry) snapshot() Snapshot {
	t := task.Task{Spec: e.spec, Created: e.created, Status: e.status, Completions: e.completions}
	if len(e.live) > 0 {
		t.Runs = make([]task.Run, 0, len(e.live))
		for _, i := range slices.Sorted(maps.Keys(e.live)) {
			t.Runs = append(t.Runs, e.live[i].Run)
		}
	}
	return Snapshot{Task: t, Made: e.made, Trimmed: e.live == nil, Seq: e.seq, Ended: e.ended, Stored: e.stored}
}
