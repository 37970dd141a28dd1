package gateway

import (
	"fmt"
	"maps"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// SetQuotas replaces the per-owner quotas (as a reload of the API's token
// file does). Lowered limits apply to runs not yet started: running runs
// are left alone, and tasks already taken stay queued.
func (g *Gateway) SetQuotas(quotas map[string]Quota) error {
	cfg := g.cfg
	cfg.Quotas = quotas
	if err := cfg.Validate(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.unlock()
	g.setQuotasLocked(quotas)
	g.kick()
	return nil
}

func (g *Gateway) setQuotasLocked(quotas map[string]Quota) {
	g.quotas = maps.Clone(quotas)
	limits := make(map[string]int, len(quotas))
	for name, q := range quotas {
		if q.MaxRunning > 0 {
			limits[name] = q.MaxRunning
		}
	}
	g.sched.SetMaxRunning(limits)
}

// admitLocked checks that the runs of spec fit in the queue limits, the
// gateway's and its owner's, counting the runs of submissions still being
// recorded; if they do, it reserves room for them until Submit has queued
// them or given up (unreserve). g.mu is held.
func (g *Gateway) admitLocked(spec *task.Spec) error {
	if err := g.fitsLocked(spec); err != nil {
		return err
	}
	n := spec.RunCount()
	if waiting := g.sched.Pending() + g.reservedAll; waiting+n > g.cfg.MaxQueued {
		return fmt.Errorf("%w: %s waiting and %s asked for; the limit is %d", ErrQueueFull, plural(waiting, "run"), plural(n, "run"), g.cfg.MaxQueued)
	}
	if q := g.quotas[spec.Owner].MaxQueued; q > 0 {
		waiting := g.sched.PendingOf(spec.Owner) + g.reserved[spec.Owner]
		if waiting+n > q {
			return fmt.Errorf("%w: %s has %d runs waiting to start and the task has %d; its max-queued is %d",
				ErrOverQuota, spec.Owner, waiting, n, q)
		}
	}
	if q := g.quotas[spec.Owner].MaxStored; q > 0 {
		if stored := g.sched.StoredOf(spec.Owner); stored >= q {
			return fmt.Errorf("%w: %s stores %s of its max-stored %s; delete ended tasks (DELETE /tasks/{id}?purge=1, shoal cancel --purge) or wait for retention",
				ErrOverQuota, spec.Owner, api.FormatBytes(uint64(stored)), api.FormatBytes(uint64(q)))
		}
	}
	g.reservedAll += n
	g.reserved[spec.Owner] += n
	return nil
}

// fitsLocked refuses a task that asks for more cores or memory than any
// worker of the pool offers, which could never start; with no worker in
// the pool yet, every task waits. (Labels wait too: a worker that has
// them may join.)
func (g *Gateway) fitsLocked(spec *task.Spec) error {
	cores, memory, workers := g.sched.Largest()
	switch {
	case workers == 0:
		return nil
	case spec.Cores > cores:
		return task.Invalid("cores", "%s cores asked for, and the largest worker offers %s: no worker could ever take it", api.FormatCores(spec.Cores), api.FormatCores(cores))
	case memory > 0 && spec.Memory > memory:
		return task.Invalid("memory", "%s asked for, and the largest worker offers %s: no worker could ever take it", api.FormatBytes(spec.Memory), api.FormatBytes(memory))
	}
	return nil
}

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unreserveLocked gives back what admitLocked reserved for spec.
func (g *Gateway) unreserveLocked(spec *task.Spec) {
	n := spec.RunCount()
	g.reservedAll -= n
	if g.reserved[spec.Owner] -= n; g.reserved[spec.Owner] == 0 {
		delete(g.reserved, spec.Owner)
	}
}
