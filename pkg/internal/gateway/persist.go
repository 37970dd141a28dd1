package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// restore loads every task recorded in the store into the scheduler, and
// records the runs that restoring ended (open runs of canceled tasks).
// Unfinished runs are queued again by the scheduler, with their due times.
func (g *Gateway) restore() error {
	now := time.Now()
	var tasks []task.Task
	if err := g.st.LoadTasks(func(t task.Task) error {
		tasks = append(tasks, t)
		return nil
	}); err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	g.mu.Lock()
	defer g.unlock()
	for _, t := range tasks {
		if err := g.sched.Restore(now, t); err != nil {
			return err
		}
	}
	if len(tasks) > 0 {
		g.log.Info("restored tasks", "tasks", len(tasks), "pending runs", g.sched.Pending())
	}
	return nil
}

// unlock releases g.mu and then writes the runs that reached a final state
// while it was held. Every path that changes the scheduler unlocks this way,
// so no outcome is left unrecorded, and no commit happens under the lock.
func (g *Gateway) unlock() { _ = g.unlockSaved() }

// unlockSaved is unlock, and returns the errors of the writes (which are
// logged too), nil when every record is durable.
func (g *Gateway) unlockSaved() error {
	updates := g.sched.TakeUpdates()
	g.mu.Unlock()
	return g.save(updates)
}

// save records final runs, one store call per task. The calls of a batch
// of runs of many tasks (the answer to a Worker.runs call) are made at
// once, so that the store's group commit writes them in one transaction.
func (g *Gateway) save(updates []sched.Update) error {
	if len(updates) == 0 {
		return nil
	}
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
	err := errors.Join(errs...)
	if err != nil {
		// The runs stay unfinished in the file: they run again, now
		// rather than after a restart, and are not shown as ended.
		failed := make(map[string]bool)
		var first error // why, for the log: each task's error is logged above
		for i, e := range errs {
			failed[order[i]] = e != nil
			first = cmp.Or(first, e)
		}
		var unsaved []sched.Update
		for _, u := range updates {
			if failed[u.Task] {
				unsaved = append(unsaved, u)
			}
		}
		g.reopen(unsaved, first)
	}
	return err
}

// storeErr maps the store's errors to the scheduler's, which the API knows.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %v", sched.ErrExists, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %v", sched.ErrNotFound, err)
	}
	return err
}
