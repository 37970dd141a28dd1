package sched

import "github.com/shoalmesh/shoal/pkg/internal/task"

// Tally counts the run attempts whose outcome the scheduler recorded since
// it was made, for metrics. Stale outcomes (see Finished) are not counted.
type Tally struct {
	// Succeeded and Failed count attempts a worker answered.
	Succeeded, Failed uint64
	// Lost counts attempts that ended without an answer (the worker went
	// away, or the call failed); Retried is the part of them that was
	// queued again, the rest failed their run.
	Lost, Retried uint64
}

// Tally returns the outcomes recorded so far.
func (s *Scheduler) Tally() Tally { return s.tally }

func (t *Tally) count(o task.Outcome) {
	switch {
	case o.Lost:
		t.Lost++
	case o.OK:
		t.Succeeded++
	default:
		t.Failed++
	}
}

// TasksByStatus counts the tasks in each status; statuses no task has are
// left out. It looks at every task, about half a millisecond per 100,000
// (BenchmarkTasksByStatus): for a metrics scrape, not for every event.
func (s *Scheduler) TasksByStatus() map[task.Status]int {
	var n [len(statuses)]int // a switch, not a map, in the loop: 15 times faster
	out := map[task.Status]int{}
	for _, e := range s.tasks {
		switch e.status {
		case task.Scheduled:
			n[0]++
		case task.Queued:
			n[1]++
		case task.Running:
			n[2]++
		case task.Succeeded:
			n[3]++
		case task.Failed:
			n[4]++
		case task.Canceled:
			n[5]++
		default:
			out[e.status]++
		}
	}
	for i, st := range statuses {
		if n[i] > 0 {
			out[st] = n[i]
		}
	}
	return out
}

var statuses = [...]task.Status{task.Scheduled, task.Queued, task.Running, task.Succeeded, task.Failed, task.Canceled}
