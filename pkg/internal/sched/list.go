package sched

import "github.com/shoalmesh/shoal/pkg/internal/task"

// The task list is read a page at a time, so that a reader holds the
// owner's lock for the tasks of its page only, however many tasks there
// are. s.order is the index: tasks in creation order, only ever appended
// to, so a task's place in it (its sequence, from 1) names it for good,
// and a page starts from a sequence in constant time.

// PageQuery asks for one page of tasks.
type PageQuery struct {
	// After is the sequence of the task before the page, in the page's
	// order; 0 starts from the oldest task (Asc) or the newest.
	After uint64
	Asc   bool // creation order; else newest first
	Limit int  // tasks in the page, at least 1
	// Match, when set, picks the tasks of the page by status; a page
	// looks at no more than Budget tasks (0: no bound), purged ones
	// included.
	Match  func(task.Status) bool
	Budget int
	// Owner, when set, picks the tasks of that owner only; a page then
	// looks at no more than Budget tasks too.
	Owner string
	// Jobs makes it a page of jobs; else it is one of tasks that are not
	// jobs.
	Jobs bool
}

// Page copies the tasks of one page, and returns the sequence to continue
// from (PageQuery.After of the next page), 0 when no task follows. Purged
// tasks leave gaps that a page passes over.
func (s *Scheduler) Page(q PageQuery) (page []Snapshot, next uint64) {
	// i is a sequence less one; the tasks from base on are in s.order.
	base, n := int(s.base), int(s.base)+len(s.order)
	i, step := max(int(min(q.After, uint64(n))), base), 1
	if !q.Asc {
		i, step = n-1, -1
		if q.After > 0 && q.After <= uint64(n) {
			i = int(q.After) - 2
		}
	}
	limit := max(q.Limit, 1)
	page = make([]Snapshot, 0, min(limit, len(s.order)))
	for looked := 0; i >= base && i < n; i += step {
		// The budget bounds filtered pages, and pages over the gaps that
		// purged tasks leave.
		if len(page) == limit || (q.Budget > 0 && looked == q.Budget) {
			return page, uint64(i - step + 1) // the sequence of the last task looked at
		}
		looked++
		e := s.order[i-base]
		if e == nil || e.purging || (q.Owner != "" && e.spec.Owner != q.Owner) || (e.spec.Job != nil) != q.Jobs {
			continue
		}
		if q.Match == nil || q.Match(e.status) {
			page = append(page, e.snapshot())
		}
	}
	return page, 0
}

// Revision is a number that changes whenever a task does: it is
// submitted or restored, or one of its runs changes status. It may be
// read at any time, without the serialization the rest needs, so that a
// reader can tell a change cheaply.
func (s *Scheduler) Revision() uint64 { return s.rev.Load() }

// SetRevision makes r the current revision: the gateway starts from its
// clock, so revisions of a restarted gateway do not repeat earlier ones.
func (s *Scheduler) SetRevision(r uint64) { s.rev.Store(r) }

func (s *Scheduler) touch() { s.rev.Add(1) }

// Touch moves the revision for a change the scheduler does not see: a
// job's step that started or ended.
func (s *Scheduler) Touch() { s.touch() }
