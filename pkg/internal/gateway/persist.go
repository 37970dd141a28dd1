package gateway

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// restore loads every task recorded in the store into the scheduler, as
// records that count their runs rather than hold them (the memory it
// takes grows with the number of tasks, not with their runs or results).
// Unfinished runs are queued again by the scheduler, with their due times,
// none sooner than AdoptWait from now: a worker that went on with one
// after the last gateway was lost hands it over in that time (adopt.go).
func (g *Gateway) restore() error {
	now := time.Now()
	hold := now.Add(g.cfg.AdoptWait)
	g.mu.Lock()
	defer g.unlock()
	n := 0
	if err := g.st.LoadRecords(func(rec task.Record) error {
		n++
		return g.sched.Restore(now, rec, hold)
	}); err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	if n > 0 {
		g.log.Info("restored tasks", "tasks", n, "pending runs", g.sched.Pending())
	}
	return nil
}

// unlock releases g.mu and then writes the runs that reached a final state
// while it was held. Every path that changes the scheduler unlocks this way,
// so no outcome is left unrecorded, and no commit happens under the lock.
func (g *Gateway) unlock() { _ = g.unlockSaved() }

// unlockSaved is unlock, and returns the errors of the writes (which are
// logged too), nil when every record is durable. The runs stored are then
// made final in the scheduler; the others run again (Unsaved): what the
// API shows as ended is what the store holds.
func (g *Gateway) unlockSaved() error {
	updates := g.sched.TakeUpdates()
	if procs := slices.ContainsFunc(updates, func(u sched.Update) bool { return u.Proc }); procs {
		updates = g.endProcessesLocked(updates)
	}
	g.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	failed, err := g.save(updates)
	g.mu.Lock()
	defer g.mu.Unlock()
	saved, unsaved := updates, 0
	if len(failed) > 0 {
		saved = slices.DeleteFunc(slices.Clone(updates), func(u sched.Update) bool { return failed[u.Task] })
		var lost []sched.Update
		for _, u := range updates {
			if failed[u.Task] {
				lost = append(lost, u)
			}
		}
		why := "run again: its record could not be saved"
		if errors.Is(err, ErrNoSpace) {
			why += " (the gateway's disk was full)"
		}
		unsaved = g.sched.Unsaved(time.Now(), lost, why)
		g.kick()
	}
	g.sched.Saved(saved)
	for _, u := range saved {
		if g.sched.Done(u.Task) {
			g.logs.close(u.Task)
		}
	}
	g.notifyLocked()
	if unsaved > 0 {
		g.metrics.unsaved.Add(float64(unsaved))
		g.log.Warn("runs queued again: their records could not be saved", "runs", unsaved, "err", err)
	}
	return err
}

// save records final runs, one store call per task, and returns the tasks
// whose runs it could not store. The calls of a batch of runs of many
// tasks (the answer to a Worker.runs call) are made at once, so that the
// store's group commit writes them in one transaction.
func (g *Gateway) save(updates []sched.Update) (map[string]bool, error) {
	byTask := make(map[string][]task.Run)
	var order []string
	for _, u := range updates {
		if _, ok := byTask[u.Task]; !ok {
			order = append(order, u.Task)
		}
		byTask[u.Task] = append(byTask[u.Task], u.Run)
	}
	errs := make([]error, len(order))
	saveOne := func(i int) {
		id := order[i]
		if err := g.st.SaveRuns(id, byTask[id]...); err != nil {
			// The runs stay unfinished in the file, and run again.
			g.log.Error("record runs", "task", id, "runs", len(byTask[id]), "err", err)
			errs[i] = err
		}
	}
	if len(order) == 1 {
		saveOne(0)
	} else {
		var wg sync.WaitGroup
		for i := range order {
			wg.Go(func() { saveOne(i) })
		}
		wg.Wait()
	}
	var failed map[string]bool
	for i, err := range errs {
		if err != nil {
			if failed == nil {
				failed = make(map[string]bool)
			}
			failed[order[i]] = true
		}
	}
	return failed, errors.Join(errs...)
}

// storeErr maps the store's errors to the scheduler's, which the API knows.
// ErrNotLeader is a write's error on a member of a replicated group that
// is not, or no longer, its leader (docs/HA.md): the write may or may
// not be committed.
var ErrNotLeader = store.ErrReplicated

func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %v", sched.ErrExists, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %v", sched.ErrNotFound, err)
	}
	return err
}
