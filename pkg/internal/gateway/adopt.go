package gateway

import (
	"context"
	"slices"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Runs under way at a failover (docs/HA.md). A worker whose connection to
// its gateway is lost goes on with the runs that need nothing more of it,
// and names them in its offer to the next gateway (Offer.held): a new
// leader of a replicated group, or the same gateway restarted. That
// gateway restored them as open runs, held back for AdoptWait; each still
// to be done is adopted: running on that worker, its result asked for
// with Worker.adopt instead of a new start, and counted once. The others
// (their task canceled or ended, or started again elsewhere) are stopped.

// holdsLocked notes the runs w's offer says it holds, for the next
// dispatch to adopt (adoptLocked).
func (g *Gateway) holdsLocked(w *remoteWorker, held []task.RunRef) {
	for _, ref := range held {
		if f, ok := g.inflight[ref]; ok && f.conn == w {
			continue // adopted already: a later offer lists it until it ends
		}
		if slices.Contains(w.held, ref) {
			continue // an offer again before the dispatch adopted it
		}
		if len(w.held) == 0 {
			g.holding = append(g.holding, w)
		}
		w.held = append(w.held, ref)
	}
}

// adoptLocked adopts or turns down the runs workers hold.
func (g *Gateway) adoptLocked(ctx context.Context) {
	if len(g.holding) == 0 {
		return
	}
	now := time.Now()
	for _, w := range g.holding {
		if g.workers[w.id] != w {
			w.held = nil // gone, or replaced: its runs are held anew
			continue
		}
		for _, ref := range w.held {
			if f, ok := g.inflight[ref]; ok {
				if f.conn != w {
					g.decline(w, ref) // started again already
				}
				continue
			}
			d, ok := g.sched.Adopt(now, ref, w.id)
			if !ok {
				g.decline(w, ref)
				continue
			}
			g.log.Info("run adopted from the worker that held it", "run", ref, "worker", w.id)
			g.metrics.adopted.Inc()
			g.start(ctx, []sched.Dispatch{d})
		}
		w.held = nil
	}
	g.holding = g.holding[:0]
}

// declineTimeout bounds telling a worker to stop a held run.
const declineTimeout = 10 * time.Second

// decline tells w to stop held run ref, which is not wanted.
func (g *Gateway) decline(w *remoteWorker, ref task.RunRef) {
	g.log.Info("a held run is not wanted: the worker stops it", "run", ref, "worker", w.id)
	client := w.client.AddRef()
	g.tasks.Add(1)
	go func() {
		defer g.tasks.Done()
		defer client.Release()
		ctx, cancel := context.WithTimeout(context.Background(), declineTimeout)
		defer cancel()
		f, release := client.Adopt(ctx, func(p wire.Worker_adopt_Params) error {
			return rpc.EncodeRunRef(p, ref) // keep false: stop it
		})
		defer release()
		_, _ = f.Struct() // a worker gone has stopped it anyway
	}()
}

// callAdopted waits on w for the result of s, a run it held and this
// gateway adopted.
func (g *Gateway) callAdopted(ctx context.Context, s task.RunSpec, w wire.Worker) task.Outcome {
	sent := time.Now()
	f, release := w.Adopt(ctx, func(p wire.Worker_adopt_Params) error {
		if err := rpc.EncodeRunRef(p, s.Ref); err != nil {
			return err
		}
		p.SetKeep(true)
		return nil
	})
	defer release()
	res, err := f.Struct()
	return answered(res, err, sent)
}

// Abandon hangs up on every worker at once, as a lost connection would,
// without canceling their runs: a deposed leader's runs go on, held by
// their workers for the next leader. The gateway takes no worker after.
func (g *Gateway) Abandon() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, w := range g.workers {
		go w.hangup() // a reset over a cut network may take its time: not under g.mu
	}
}
