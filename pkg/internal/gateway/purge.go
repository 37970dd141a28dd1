package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// Purge deletes task id with its runs, results and logs, from memory and
// from the store, canceling it first if it has not ended. It waits (up
// to ctx) for outcomes being stored to land, so that nothing of the task
// is written after it is gone.
func (g *Gateway) Purge(ctx context.Context, id string) error {
	if err := g.cancel(id); err != nil && !errors.Is(err, sched.ErrDone) {
		return err
	}
	for {
		g.mu.Lock()
		err := g.sched.Purge(id)
		changed := g.changed
		if err == nil {
			g.notifyLocked()
		}
		g.mu.Unlock()
		switch {
		case err == nil:
			return g.forget(id)
		case !errors.Is(err, sched.ErrNotDone):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("purge %s: its last outcomes are still being stored: %w", id, ctx.Err())
		case <-changed:
		}
	}
}

// forget deletes what the store and the log book hold of purged tasks.
func (g *Gateway) forget(ids ...string) error {
	g.logs.forget(ids...)
	freed, err := g.st.DeleteTasks(ids...)
	if err != nil {
		// The scheduler has let them go; the records stay until a restart
		// loads them again, and retention or a purge then deletes them.
		return fmt.Errorf("delete from the store: %w", err)
	}
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
		ids := g.sched.Expired(cutoff, retainBatch)
		for _, id := range ids {
			_ = g.sched.Purge(id) // Expired lists ended tasks only
		}
		if len(ids) > 0 {
			g.notifyLocked()
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
