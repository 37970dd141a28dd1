package task

import "time"

// Task is a submitted task as the gateway tracks it.
type Task struct {
	Spec        Spec
	Created     time.Time
	Status      Status
	Completions int64
	Runs        []Run
	// Result is the result of the last run that succeeded.
	Result string
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
// queued; when every run has ended it failed if one of them failed.
func (t *Task) Refresh() {
	if t.Status == Canceled {
		return
	}
	var running, queued, open, failed bool
	for i := range t.Runs {
		switch t.Runs[i].Status {
		case Running:
			running = true
		case Queued:
			queued = true
		case Scheduled:
			open = true
		case Failed:
			failed = true
		}
	}
	switch {
	case running:
		t.Status = Running
	case queued:
		t.Status = Queued
	case open:
		t.Status = Scheduled
	case failed:
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
