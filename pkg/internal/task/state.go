package task

import (
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Task is a submitted task as the gateway tracks it.
type Task struct {
	Spec        Spec
	Created     time.Time
	Status      Status
	Completions int64
	Runs        []Run
	// Result is the result of the last run that succeeded; ResultBytes
	// its whole size when Result holds less of it.
	Result      string
	ResultBytes int
	// Processes is the process tree of its runs that spawned (the
	// gateway's, not stored: docs/PROCESSES.md).
	Processes []api.Process
	// tally counts the runs by status, so that a run's change of status
	// updates the task's in constant time (SetRunStatus): a task may have
	// a hundred thousand runs.
	tally runTally
}

type runTally struct {
	valid                              bool
	running, queued, scheduled, failed int
}

func (c *runTally) add(s Status, n int) {
	switch s {
	case Running:
		c.running += n
	case Queued:
		c.queued += n
	case Scheduled:
		c.scheduled += n
	case Failed:
		c.failed += n
	}
}

// New makes the task for spec, created at now, with all its runs scheduled.
func New(spec Spec, now time.Time) *Task {
	t := &Task{Spec: spec, Created: now, Status: Scheduled, Completions: spec.Complete}
	t.Runs = make([]Run, spec.RunCount())
	for i := range t.Runs {
		t.Runs[i] = Run{Index: i, Status: Scheduled, Due: spec.Due(now, i)}
	}
	t.Refresh()
	return t
}

// Refresh derives the task's status from its runs: canceled stays canceled;
// any running run makes it running, else any run waiting for a worker makes it
// queued; when every run has ended it failed if one of them failed. It
// looks at every run: call it after changing runs directly, and use
// SetRunStatus for one run's change.
func (t *Task) Refresh() {
	t.tally = runTally{valid: true}
	for i := range t.Runs {
		t.tally.add(t.Runs[i].Status, 1)
	}
	t.derive()
}

// SetRunStatus sets the status of run i, and the task's status from it, in
// constant time.
func (t *Task) SetRunStatus(i int, s Status) {
	if !t.tally.valid {
		t.Refresh()
	}
	t.tally.add(t.Runs[i].Status, -1)
	t.Runs[i].Status = s
	t.tally.add(s, 1)
	t.derive()
}

func (t *Task) derive() {
	if t.Status == Canceled {
		return
	}
	c := &t.tally
	switch {
	case c.running > 0:
		t.Status = Running
	case c.queued > 0:
		t.Status = Queued
	case c.scheduled > 0:
		t.Status = Scheduled
	case c.failed > 0:
		t.Status = Failed
	default:
		t.Status = Succeeded
	}
}

// Clone returns a deep copy that shares nothing mutable with t.
func (t *Task) Clone() Task {
	c := *t
	c.Runs = append([]Run(nil), t.Runs...)
	return c
}

// CloneLatest is Clone with only the latest n runs (the last n by index),
// for a view of a task that may have a million runs; n < 0 copies all.
// The copy is for reading: its Runs no longer start at index 0.
func (t *Task) CloneLatest(n int) Task {
	from := 0
	if n >= 0 && n < len(t.Runs) {
		from = len(t.Runs) - n
	}
	c := *t
	c.Runs = append(make([]Run, 0, len(t.Runs)-from), t.Runs[from:]...)
	return c
}

// Record is what the store holds of a task, read without keeping its
// runs: its spec and state, the runs that ended counted, and the ones
// that had not, below Made, to run again. Runs from Made on were never
// made (see the scheduler's lazy runs): they are yet to come.
type Record struct {
	Spec       Spec
	Created    time.Time
	Canceled   bool
	CanceledAt time.Time
	// Succeeded, Failed and Ended count the runs that ended and when the
	// last of them did.
	Succeeded, Failed int
	Ended             time.Time
	// Made is one past the highest run that ended; Open are the runs
	// below it that had not (their index, attempt and due time).
	Made int
	Open []Run
	// Bytes estimates what its records take in the store.
	Bytes int64
}
