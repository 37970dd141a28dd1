package gateway

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/shoalmesh/shoal/pkg/api"
)

// jobNotes carries the changes of jobs' statuses, in the order they
// happen, from under the dispatch lock to the callback sender: a change
// is noted under the lock (noteLocked), and one goroutine (notify) builds
// each job's view outside it and gives it to the sender, which never
// blocks.
type jobNotes struct {
	mu      sync.Mutex
	pending []jobNote
	wake    chan struct{}
}

type jobNote struct {
	id     string
	status api.Status
}

// jobChangedLocked notes job id's status if it changed since the last
// note, for its callback; g.mu is held.
func (g *Gateway) jobChangedLocked(id string) {
	st, ok := g.sched.Status(id)
	js := g.jobs[id]
	if ok && js == nil {
		// A job the gateway holds nothing of yet: one taken before a
		// restart, canceled while queued.
		if snap, found := g.sched.Task(id); found && snap.Task.Spec.Job != nil && snap.Task.Spec.Job.CallbackURL != "" {
			js = g.jobLocked(id, &snap.Task.Spec)
		}
	}
	if !ok || js == nil || js.callbackURL == "" || st == js.told {
		return
	}
	js.told = st
	n := &g.notes
	n.mu.Lock()
	n.pending = append(n.pending, jobNote{id, st})
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// notify gives noted changes to the callback sender until ctx ends.
func (g *Gateway) notify(ctx context.Context) {
	defer g.tasks.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.notes.wake:
		}
		g.notes.mu.Lock()
		notes := g.notes.pending
		g.notes.pending = nil
		g.notes.mu.Unlock()
		for _, n := range notes {
			j, err := g.Job(n.id)
			if err != nil {
				continue // purged since
			}
			j.Status = n.status // as it was when it changed
			body, err := json.Marshal(j)
			if err != nil {
				continue
			}
			g.callbacks.Send(n.id, j.CallbackURL, n.status, body)
		}
	}
}

// recordCallback keeps a delivery attempt for the job's view, in the
// store (the sender calls it from its own goroutines).
func (g *Gateway) recordCallback(id string, a api.Callback) {
	switch {
	case a.Attempt == 0:
		g.metrics.callbacks.WithLabelValues("dropped").Inc()
	case a.Error == "":
		g.metrics.callbacks.WithLabelValues("delivered").Inc()
	default:
		g.metrics.callbacks.WithLabelValues("failed").Inc()
	}
	if err := g.st.AddCallback(id, a, maxCallbacks); err != nil {
		g.log.Warn("callback attempt not recorded", "job", id, "err", err)
	}
}

// jobEndedLocked notes a job's change of status after its run's outcome
// was stored, and forgets what the gateway held of it once it has ended
// (the store has its steps and files); g.mu is held.
func (g *Gateway) jobEndedLocked(id string) {
	g.jobChangedLocked(id)
	if st, ok := g.sched.Status(id); !ok || st.Done() {
		delete(g.jobs, id)
	}
}

// startCallbacks runs the callback sender and the notifier until ctx ends.
func (g *Gateway) startCallbacks(ctx context.Context) {
	g.tasks.Add(2)
	go func() {
		defer g.tasks.Done()
		g.callbacks.Run(ctx)
	}()
	go g.notify(ctx)
}
