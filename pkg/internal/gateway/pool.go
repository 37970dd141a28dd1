package gateway

import (
	"context"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// addWorker puts a worker's offer into the pool. An offer from a peer that
// is already in the pool over another connection replaces it: the old
// connection's runs count as lost.
func (g *Gateway) addWorker(connCtx context.Context, id sched.WorkerID, client wire.Worker, o sched.Offer, held []task.RunRef, hangup func()) error {
	g.mu.Lock()
	defer g.unlock()
	if g.closed {
		client.Release()
		return ErrClosed
	}
	if old, ok := g.workers[id]; ok {
		if old.client.IsSame(client) {
			client.Release()
			g.sched.Offer(id, o)
			g.holdsLocked(old, held)
			g.kick()
			return nil
		}
		g.dropLocked(old, "replaced by a new connection")
	}
	ctx, stop := context.WithCancel(connCtx)
	w := &remoteWorker{id: id, client: client, stop: stop, hangup: hangup, alive: rpc.NewLiveness(g.cfg.PingInterval), grants: make(map[string]int)}
	w.sink = wire.LogSink(rpc.Export(wire.LogSink_NewServer(logSink{g: g, conn: w, received: g.metrics.logBytes})))
	w.source = wire.ModuleSource(rpc.Export(wire.ModuleSource_NewServer(moduleSource{g: g, conn: w, served: g.metrics.moduleBytes, refused: g.metrics.fetchesRefused})))
	g.workers[id] = w
	g.sched.Offer(id, o)
	g.holdsLocked(w, held)
	g.log.Info("worker joined", "worker", id, "slots", o.Slots, "labels", o.Labels)
	g.tasks.Add(1)
	go g.watch(ctx, w)
	g.kick()
	return nil
}

// watch pings w until its connection ends or it stops answering within the
// ping timeout, then drops it from the pool. The transport alone would take
// tens of seconds to notice a silent peer. A worker that answered a run
// within the last interval is not pinged: under load, runs are the pings.
func (g *Gateway) watch(ctx context.Context, w *remoteWorker) {
	defer g.tasks.Done()
	defer w.alive.Stop()
	for {
		select {
		case <-ctx.Done():
			g.drop(w, "connection closed")
			return
		case <-w.alive.C():
		}
		if !w.alive.Due() {
			continue // it answered a run: alive
		}
		pctx, cancel := context.WithTimeout(ctx, g.cfg.PingTimeout)
		f, release := w.client.Ping(pctx, nil)
		_, err := f.Struct()
		release()
		cancel()
		if err != nil && ctx.Err() == nil {
			g.drop(w, "no answer to ping: "+err.Error())
			return
		}
		w.alive.Heard()
	}
}

func (g *Gateway) drop(w *remoteWorker, why string) {
	g.mu.Lock()
	defer g.unlock()
	if g.workers[w.id] == w {
		g.dropLocked(w, why)
	}
}

// dropLocked removes w from the pool and hangs up its connection, so a
// worker dropped for silence notices and offers itself again.
func (g *Gateway) dropLocked(w *remoteWorker, why string) {
	delete(g.workers, w.id)
	w.stop()
	w.client.Release()
	w.releaseCaps() // runs still under way hold their own references
	go w.hangup()
	for _, f := range g.inflight {
		if f.worker == w.id {
			f.cancel() // its attempts are retried elsewhere; stop waiting on them
		}
	}
	g.sched.RemoveWorker(time.Now(), w.id, why)
	g.log.Info("worker left", "worker", w.id, "why", why)
	g.kick()
}

// waitDrained returns once no run dispatched to worker id on its current
// connection awaits its outcome, or when ctx ends. A worker shutting down
// offers no slots and waits on this (its send returns), so it leaves only
// after the gateway has recorded every result it sent. The worker closes
// the connection itself: hanging up from inside its call would race go-capnp's
// release of that call's message.
func (g *Gateway) waitDrained(ctx context.Context, id sched.WorkerID) error {
	for {
		g.mu.Lock()
		rw, ok := g.workers[id]
		n, changed := 0, g.changed
		if ok {
			n = rw.running
		}
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// peerCaps are new references to the capabilities w's runs are passed with:
// its log sink and its module source.
func (w *remoteWorker) peerCaps() peerCaps {
	return peerCaps{sink: w.sink.AddRef(), source: w.source.AddRef()}
}

// releaseCaps drops the pool's references to w's sink and source.
func (w *remoteWorker) releaseCaps() {
	w.sink.Release()
	w.source.Release()
}

// peerCaps are the capabilities passed with the runs of one connection.
type peerCaps struct {
	sink   wire.LogSink
	source wire.ModuleSource
}

// callParams are the parameters of a call that carry a connection's
// module source and log sink: Worker.run, runs and job.
type callParams interface {
	SetModules(wire.ModuleSource) error
	SetLogs(wire.LogSink) error
}

// give puts a reference to each of c in p.
func (c peerCaps) give(p callParams) error {
	if err := p.SetModules(c.source.AddRef()); err != nil {
		return err
	}
	return p.SetLogs(c.sink.AddRef())
}

func (c peerCaps) release() {
	c.sink.Release()
	c.source.Release()
}
