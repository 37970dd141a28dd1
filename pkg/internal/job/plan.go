package job

import (
	"github.com/shoalmesh/shoal/pkg/api"
)

// Plan is the state of one attempt of a job: each step's status, and from
// them what starts next and how the job ends. Its methods are pure: the
// caller runs the steps and reports their ends.
//
// The rules (docs/JOBS.md): a step starts when every step it needs has
// succeeded, or failed with ContinueOnError. A step that fails without
// ContinueOnError fails the job: no step starts after it, steps already
// running finish, and the steps that never started are skipped. A job
// canceled or out of time ends its running steps (the caller stops them)
// and cancels the rest.
type Plan struct {
	spec   *Spec
	status []api.Status
	failed int // the first step that failed the job, or -1
	// stopped is the job's end from outside (Stop): canceled or failed,
	// with no step to start after it.
	stopped api.Status
}

// NewPlan returns the plan of a new attempt of s: every step queued.
func NewPlan(s *Spec) *Plan {
	p := &Plan{spec: s, status: make([]api.Status, len(s.Steps)), failed: -1}
	for i := range p.status {
		p.status[i] = api.Queued
	}
	return p
}

// Status is step i's status.
func (p *Plan) Status(i int) api.Status { return p.status[i] }

// Statuses are every step's, in order; the caller must not change them.
func (p *Plan) Statuses() []api.Status { return p.status }

// Ready lists the queued steps that may start now, in order.
func (p *Plan) Ready() []int {
	if p.failed >= 0 || p.stopped != "" {
		return nil
	}
	var out []int
	for i, st := range p.spec.Steps {
		if p.status[i] == api.Queued && p.met(st) {
			out = append(out, i)
		}
	}
	return out
}

// met reports whether every step st needs has ended well enough.
func (p *Plan) met(st Step) bool {
	for _, n := range st.Needs {
		switch p.status[n] {
		case api.Succeeded:
		case api.Failed:
			if !p.spec.Steps[n].ContinueOnError {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Start marks step i running.
func (p *Plan) Start(i int) { p.status[i] = api.Running }

// End records step i's end: succeeded when ok, else failed (or canceled
// when the job was stopped while it ran). A failure without
// ContinueOnError fails the job.
func (p *Plan) End(i int, ok bool) {
	switch {
	case ok:
		p.status[i] = api.Succeeded
	case p.stopped == api.Canceled:
		p.status[i] = api.Canceled
	default:
		p.status[i] = api.Failed
		if !p.spec.Steps[i].ContinueOnError && p.failed < 0 {
			p.failed = i
		}
	}
}

// Stop ends the job from outside: canceled (DELETE, the task's cancel) or
// failed (its time limit). No step starts after it; the caller stops the
// running ones and reports their ends.
func (p *Plan) Stop(s api.Status) {
	if p.stopped == "" {
		p.stopped = s
	}
}

// Running counts the steps running.
func (p *Plan) Running() int {
	n := 0
	for _, st := range p.status {
		if st == api.Running {
			n++
		}
	}
	return n
}

// Done reports whether the job has ended: no step runs, and none can
// start.
func (p *Plan) Done() bool { return p.Running() == 0 && len(p.Ready()) == 0 }

// Finish ends an attempt that is Done: the steps that never started become
// skipped (after a failure, or when what they need failed) or canceled
// (after Stop(Canceled)). It returns the job's status and, for a failed
// job, the step that failed it (-1 when its time limit did).
func (p *Plan) Finish() (api.Status, int) {
	left := api.Skipped
	if p.stopped == api.Canceled {
		left = api.Canceled
	}
	for i, st := range p.status {
		if st == api.Queued {
			p.status[i] = left
		}
	}
	switch {
	case p.stopped == api.Canceled:
		return api.Canceled, -1
	case p.failed >= 0:
		return api.Failed, p.failed
	case p.stopped != "":
		return p.stopped, -1
	}
	return api.Succeeded, -1
}

// Reserve is the memory a job's worker holds for it: the most that the
// steps of one level of the graph (those whose longest chain of needs is
// as long) ask for together. The worker starts a ready step only while
// the running steps' memory and its own fit in it (or nothing runs), so
// the job never takes more than it was placed with.
func (s *Spec) Reserve() uint64 {
	memo := make([]int, len(s.Steps))
	var sums []uint64
	for i, st := range s.Steps {
		l := s.level(i, memo)
		for len(sums) <= l {
			sums = append(sums, 0)
		}
		sums[l] = satAdd(sums[l], st.Memory)
	}
	var most uint64
	for _, m := range sums {
		most = max(most, m)
	}
	return most
}

// level is the length of the longest chain of needs below step i; level
// holds those found so far, plus one (0: not yet). The graph has no cycle
// (New refused them).
func (s *Spec) level(i int, level []int) int {
	if level[i] > 0 {
		return level[i] - 1
	}
	l := 0
	for _, n := range s.Steps[i].Needs {
		l = max(l, s.level(n, level)+1)
	}
	level[i] = l + 1
	return l
}

// satAdd is a+b, or the largest uint64 when that overflows.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
