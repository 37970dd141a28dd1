package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// Purge deletes task id with its runs, results and logs, from the store
// and then from memory, canceling it first if it has not ended. It waits
// (up to ctx) for what is under way to end: outcomes being stored, and
// canceled runs their workers still hold. A delete the store refuses (a
// full disk) leaves the task as it was.
func (g *Gateway) Purge(ctx context.Context, id string) error {
	if err := g.cancel(id); err != nil && !errors.Is(err, sched.ErrDone) {
		return err
	}
	for {
		g.mu.Lock()
		err := g.sched.BeginPurge(id)
		changed := g.changed
		g.mu.Unlock()
		switch {
		case err == nil:
			return g.forget(id)
		case !errors.Is(err, sched.ErrNotDone):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("purge %s: %w: what is under way has not ended (its last outcomes being stored, or canceled runs their workers still hold); try again", id, sched.ErrNotDone)
		case <-changed:
		}
	}
}

// forget deletes the records of tasks ids, which BeginPurge hid, from the
// store, then from the scheduler and the log book; when the store refuses,
// they are shown again as they were.
func (g *Gateway) forget(ids ...string) error {
	freed, err := g.st.DeleteTasks(ids...)
	g.mu.Lock()
	for _, id := range ids {
		if err != nil {
			g.sched.AbortPurge(id)
		} else {
			g.sched.Purge(id)
		}
	}
	g.notifyLocked()
	g.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete from the store: %w", err)
	}
	g.logs.forget(ids...)
	g.metrics.purged.Add(float64(len(ids)))
	g.metrics.purgedBytes.Add(float64(freed))
	return nil
}

// retainEvery is how often retention looks for tasks to purge, and
// retainBatch bounds the tasks purged in one transaction.
const (
	retainEvery = time.Minute
	retainBatch = 1000
)

// retain purges the tasks that ended more than cfg.Retain ago, until ctx
// ends: at once, then every retainEvery.
func (g *Gateway) retain(ctx context.Context) {
	defer g.tasks.Done()
	t := time.NewTicker(retainEvery)
	defer t.Stop()
	for {
		g.expire(time.Now().Add(-g.cfg.Retain))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expire purges the tasks that ended before cutoff.
func (g *Gateway) expire(cutoff time.Time) {
	for {
		g.mu.Lock()
		var ids []string
		for _, id := range g.sched.Expired(cutoff, retainBatch) {
			if g.sched.BeginPurge(id) == nil { // Expired lists ended tasks only
				ids = append(ids, id)
			}
		}
		g.mu.Unlock()
		if len(ids) == 0 {
			return
		}
		if err := g.forget(ids...); err != nil {
			g.log.Error("retention", "tasks", len(ids), "err", err)
			return
		}
		g.log.Info("retention purged tasks", "tasks", len(ids), "ended before", cutoff.Format(time.RFC3339))
		if len(ids) < retainBatch {
			return
		}
	}
}
