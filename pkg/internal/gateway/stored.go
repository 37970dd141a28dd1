package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Stored reads tasks and jobs from a store alone, as a gateway restarted
// on it would show them before it places any run: a follower of a
// replicated group (docs/HA.md) serves its reads so, from its copy of the
// group's store. Each read restores the tasks it shows into a scheduler
// of its own, as a gateway's start does (sched.Restore), and composes
// their views as the gateway does (compose, jobViewOf): the answers have
// the gateway's shapes. What only a running gateway knows is not there:
// a run under way shows as queued (its start is not stored, its end is),
// a job's step under way as queued, and a task's processes not at all.
type Stored struct {
	st       *store.Store
	sc       sched.Config
	timeout  time.Duration
	revision func() uint64
}

// NewStored reads st as a gateway of cfg would show it; revision is the
// revision of the store's content (a member's applied index), read
// before each read.
func NewStored(cfg Config, st *store.Store, revision func() uint64) *Stored {
	sc := sched.DefaultConfig()
	sc.Retries = cfg.Retries // a task that set none shows the gateway's
	return &Stored{st: st, sc: sc, timeout: cfg.TaskTimeout, revision: revision}
}

// TaskTimeout is the time limit of a run whose task sets none.
func (s *Stored) TaskTimeout() time.Duration { return s.timeout }

// Revision is the store's revision now.
func (s *Stored) Revision() uint64 { return s.revision() }

// notFound is the gateway's error for a task the store does not hold.
func notFound(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return err
}

// snapshot is task id as a gateway restarted on the store holds it.
func (s *Stored) snapshot(id string) (sched.Snapshot, error) {
	rec, err := s.st.Record(id)
	if err != nil {
		return sched.Snapshot{}, notFound(id, err)
	}
	sc := sched.New(s.sc)
	if err := sc.Restore(time.Now(), rec, time.Time{}); err != nil { // as stored: no run held back
		return sched.Snapshot{}, err
	}
	snap, _ := sc.Task(id)
	return snap, nil
}

// Owner returns the owner of task id.
func (s *Stored) Owner(id string) (string, error) {
	ws, err := s.st.Windows([]store.WindowQuery{{ID: id, Spec: true}})
	if err != nil {
		return "", err
	}
	if ws[0].Missing {
		return "", fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return ws[0].Spec.Owner, nil
}

// TaskRuns returns task id with its latest n runs (all when n < 0), and
// the revision it is at least of.
func (s *Stored) TaskRuns(id string, n int) (task.Task, uint64, error) {
	rev := s.revision()
	snap, err := s.snapshot(id)
	if err != nil {
		return task.Task{}, 0, err
	}
	ts, err := compose(s.st, []sched.Snapshot{snap}, n, 0)
	if err != nil {
		return task.Task{}, 0, err
	}
	if len(ts) == 0 {
		return task.Task{}, 0, fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return ts[0], rev, nil
}

// TaskPage reads one page of the task list as Gateway.TaskPage does; its
// cursors are the store's sequences, which a follower's pages follow.
func (s *Stored) TaskPage(q sched.PageQuery, runs int) (page []task.Task, next, rev uint64, err error) {
	rev = s.revision()
	sc, now := sched.New(s.sc), time.Now()
	limit := max(q.Limit, 1)
	var snaps []sched.Snapshot
	looked, last := 0, uint64(0)
	err = s.st.Records(q.After, q.Asc, func(seq uint64, spec *task.Spec, load func() (task.Record, error)) (bool, error) {
		// As sched.Page: the budget bounds filtered pages.
		if len(snaps) == limit || (q.Budget > 0 && looked == q.Budget) {
			next = last
			return false, nil
		}
		looked, last = looked+1, seq
		if (q.Owner != "" && spec.Owner != q.Owner) || (spec.Job != nil) != q.Jobs {
			return true, nil
		}
		rec, err := load()
		if err != nil {
			return false, err
		}
		if err := sc.Restore(now, rec, time.Time{}); err != nil {
			return false, err
		}
		if snap, _ := sc.Task(spec.ID); q.Match == nil || q.Match(snap.Task.Status) {
			snaps = append(snaps, snap)
		}
		return true, nil
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read tasks: %w", err)
	}
	page, err = compose(s.st, snaps, runs, ListResultBytes)
	return page, next, rev, err
}

// Job returns job id.
func (s *Stored) Job(id string) (api.Job, error) { return readJob(s, id) }

// JobPage reads one page of the job list, as TaskPage does for tasks.
func (s *Stored) JobPage(q sched.PageQuery) (page []api.Job, next, rev uint64, err error) {
	return readJobPage(s, q)
}

// jobView is Gateway.jobView with the steps the store holds.
func (s *Stored) jobView(t task.Task, files bool) (api.Job, error) {
	steps, err := s.st.Steps(t.Spec.ID)
	if err != nil {
		return api.Job{}, err
	}
	cbs, err := s.st.Callbacks(t.Spec.ID)
	if err != nil {
		return api.Job{}, err
	}
	return jobViewOf(s.st, s.timeout, t, steps, cbs, files)
}

// Logs returns the entries of task id's log the store holds, after seq,
// and whether the task has ended (its log is then complete).
func (s *Stored) Logs(id string, seq uint64) ([]task.LogEntry, bool, error) {
	snap, err := s.snapshot(id)
	if err != nil {
		return nil, false, err
	}
	entries, err := s.st.Logs(id)
	if err != nil {
		return nil, false, notFound(id, err)
	}
	out := entries[:0]
	for _, e := range entries {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, snap.Task.Status.Done(), nil
}

// ModuleNames lists the names given to modules, with their hashes.
func (s *Stored) ModuleNames() (map[string]string, error) { return s.st.ModuleNames() }

// Files lists the artifacts of job or task id.
func (s *Stored) Files(id string) ([]api.File, error) {
	files, err := s.st.Files(id)
	return files, notFound(id, err)
}

// File returns the artifact at path of job or task id, with its bytes.
func (s *Stored) File(id, path string) (api.File, []byte, error) {
	if _, err := s.Owner(id); err != nil {
		return api.File{}, nil, err
	}
	return fileOf(s.st, id, path)
}

// Bundle returns the files deployed under name.
func (s *Stored) Bundle(name string) (api.Bundle, error) { return bundleOf(s.st, name) }
