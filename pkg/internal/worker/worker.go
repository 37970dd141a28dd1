package worker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/version"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// Resolve finds the gateway's current addresses; it is called before every
// connection attempt, so a gateway that restarted on new ports is found.
type Resolve func(ctx context.Context) (peer.AddrInfo, error)

// Worker is a running worker.
type Worker struct {
	cfg    Config
	host   host.Host
	runner Runner
	log    *slog.Logger
	slots  chan struct{}
	fetch  flight
	active atomic.Int64 // runs in progress, for logs
	// warmed is signaled when the worker has compiled a module it did not
	// hold: the session offers again, so the gateway's placement knows.
	warmed chan struct{}

	// procs are the processes of the runs here (procs.go), reaching the
	// others through gateway, the current connection's Processes.
	procs   *proc.Table
	gateway gatewayProcs
	mesh    *mesh // direct paths to other workers' processes

	metrics *metrics // in its own registry: see metrics.go
	health  health   // see Ready

	held held // runs that lost their gateway, for the next to adopt (held.go)
	// term is the highest Raft term of a gateway this worker served: it
	// attaches to none of a lower one (a deposed leader; docs/HA.md).
	term atomic.Uint64
}

// New makes a worker on h, with a wazero runtime configured by
// cfg.Runtime. Close releases its runtime.
func New(ctx context.Context, cfg Config, h host.Host, logger *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := wasmrun.New(ctx, cfg.Runtime)
	if err != nil {
		return nil, fmt.Errorf("start wasm runtime: %w", err)
	}
	return newWorker(cfg, h, r, logger), nil
}

// NewWithRunner makes a worker on h that runs its runs on r (see Runner);
// cfg.Runtime is not used. Close closes r.
func NewWithRunner(cfg Config, h host.Host, r Runner, logger *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newWorker(cfg, h, r, logger), nil
}

func newWorker(cfg Config, h host.Host, r Runner, logger *slog.Logger) *Worker {
	w := &Worker{
		cfg: cfg, host: h, runner: r,
		log:    logger.With("component", "worker"),
		slots:  make(chan struct{}, cfg.Slots),
		warmed: make(chan struct{}, 1),
	}
	if cfg.JobDir != "" {
		// A job's directory outlives it only when its worker did not: a
		// crash's leftovers belong to attempts the gateway runs again.
		if err := clearJobDir(cfg.JobDir); err != nil {
			w.log.Warn("leftover job directories not removed", "dir", cfg.JobDir, "err", err)
		}
	}
	w.mesh = newMesh(w)
	w.gateway.mesh = w.mesh
	w.procs = proc.NewTable(&w.gateway)
	w.metrics = newMetrics(w)
	return w
}

// Messages counts the messages between processes this worker sent to
// other workers: straight there, and through the gateway.
func (w *Worker) Messages() (direct, relayed int64) {
	return w.gateway.direct.Load(), w.gateway.relayed.Load()
}

// Close stops the worker's runner (its wasm runtime).
func (w *Worker) Close(ctx context.Context) error { return w.runner.Close(ctx) }

// Run keeps the worker offered to the gateway until ctx ends: it connects,
// offers, waits for the connection to end, and starts again with backoff.
// It returns a *NotAdmittedError when the gateway refuses the worker's
// join token (or its lack of one), which no retry would change.
func (w *Worker) Run(ctx context.Context, resolve Resolve) error {
	defer w.setState(stopped, nil)
	defer w.held.stopAll()
	w.serveMesh()
	defer w.mesh.closeAll()
	defer w.host.RemoveStreamHandler(rpc.Protocol)
	backoff := w.cfg.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := w.session(ctx, resolve)
		if ctx.Err() != nil {
			break
		}
		var refused *NotAdmittedError
		if errors.As(err, &refused) {
			w.log.Error("the gateway refused this worker", "gateway", refused.Gateway, "why", refused.Reason)
			return err
		}
		if time.Since(start) > 5*time.Second {
			backoff = w.cfg.MinBackoff // it was up for a while: retry fast
		}
		w.log.Info("gateway connection ended; reconnecting", "err", err, "in", backoff)
		w.setState(connecting, err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.cfg.MaxBackoff)
	}
	return nil
}

// session is one connection to the gateway: connect, offer, wait for the end.
func (w *Worker) session(ctx context.Context, resolve Resolve) error {
	ai, err := resolve(ctx)
	if err != nil {
		return fmt.Errorf("find gateway: %w", err)
	}
	timeout := w.cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The worker paces its own attempts (its backoff): libp2p's dial
	// backoff, which grows with each failed dial, would keep it from a
	// gateway (a group's member) that is back, for seconds after.
	if sw, ok := w.host.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(ai.ID)
	}
	if err := w.host.Connect(cctx, ai); err != nil {
		return fmt.Errorf("connect to gateway %s: %w", ai.ID, err)
	}
	conn, err := rpc.Dial(cctx, w.host, ai.ID, w.log)
	if err != nil {
		return err
	}
	defer conn.Close()
	gw := wire.Gateway(conn.Bootstrap(cctx))
	defer gw.Release()
	// Wait for the channel instead of pipelining on it: go-capnp
	// v3.1.0-alpha.2 can panic when it drains calls pipelined on an answer
	// (fixed upstream in go-capnp #617, not yet released).
	proof, err := w.proof(cctx, gw, ai.ID)
	if err != nil {
		return err
	}
	wf, releaseWorkers := gw.Workers(cctx, func(p wire.Gateway_workers_Params) error {
		return p.SetProof(proof)
	})
	defer releaseWorkers()
	wres, err := wf.Struct()
	if err != nil {
		return w.refusal(ai.ID, err)
	}
	if t, seen := wres.Term(), w.term.Load(); t > 0 && t < seen { // 0: a gateway alone
		return fmt.Errorf("gateway %s leads term %d, older than term %d this worker served: a deposed leader", ai.ID, t, seen)
	}
	w.term.Store(max(w.term.Load(), wres.Term()))
	ch := wres.Chan()
	pf, releaseProcs := gw.Processes(cctx, nil)
	defer releaseProcs()
	pres, err := pf.Struct()
	if err != nil {
		return fmt.Errorf("gateway %s: processes: %w", ai.ID, err)
	}
	w.gateway.set(pres.Procs().AddRef())
	defer w.gateway.set(wire.Processes{})
	silenced := make(chan struct{}) // closed before the session hangs up on a silent gateway
	srv := &server{w: w, alive: rpc.NewLiveness(w.cfg.PingInterval), lost: conn.Lost(), silenced: silenced}
	defer srv.release()
	defer func() {
		if srv.gone() {
			srv.holdAnswers()
		}
	}()
	self := wire.Worker(rpc.Export(wire.Worker_NewServer(srv)))
	defer self.Release() // an offer holds its own reference
	if err := w.offer(cctx, ch, self, w.cfg.Slots); err != nil {
		return fmt.Errorf("offer to gateway %s: %w", ai.ID, err)
	}
	w.setState(ready, nil)
	w.metrics.connects.Inc()
	w.log.Info("offered to gateway", "gateway", ai.ID, "slots", w.cfg.Slots)
	// The gateway is pinged when it has given no sign of life (a ping
	// answered, or a run call received) for PingInterval.
	alive := srv.alive
	defer alive.Stop()
	// silent ends the session when the gateway does not answer in time:
	// over QUIC a dead gateway sends no close, so the libp2p connection is
	// dropped too, or the next dial would reuse it.
	silent := func(what string, err error) error {
		close(silenced) // before the calls end: their runs are held (held.go)
		_ = w.host.Network().ClosePeer(ai.ID)
		return fmt.Errorf("gateway silent (%s): %w", what, err)
	}
	for {
		select {
		case <-ctx.Done():
			w.setState(draining, nil)
			w.drain(ch, self)
			return ctx.Err()
		case <-conn.Done():
			return errors.New("connection closed")
		case <-w.warmed:
		case <-w.runner.Evicted():
			// Offers list the cached modules: the gateway's placement must
			// not keep sending runs here for a module no longer held.
		case <-alive.C():
			if !alive.Due() {
				continue // a run arrived: the gateway is alive
			}
			if err := w.ping(ctx, gw); err != nil && ctx.Err() == nil {
				return silent("ping", err)
			}
			alive.Heard()
			continue
		}
		// Bounded like a ping: a re-offer that hangs must not stop the
		// pings that would notice a dead gateway.
		octx, cancel := context.WithTimeout(ctx, w.cfg.PingTimeout)
		err := w.offer(octx, ch, self, w.cfg.Slots)
		cancel()
		if err != nil && ctx.Err() == nil {
			return silent("offer", err)
		}
		w.metrics.reoffers.Inc()
	}
}

func (w *Worker) ping(ctx context.Context, gw wire.Gateway) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.PingTimeout)
	defer cancel()
	f, release := gw.Ping(ctx, nil)
	defer release()
	_, err := f.Struct()
	return err
}

// offer sends an offer of slots into the gateway's channel.
func (w *Worker) offer(ctx context.Context, ch wire.Chan, self wire.Worker, slots int) error {
	f, release := ch.Send(ctx, func(p wire.Chan_send_Params) error {
		return w.encodeOffer(p, self.AddRef(), slots)
	})
	defer release()
	_, err := f.Struct()
	return err
}

// drain stops new work by offering no slots. The gateway answers that
// offer once it has recorded the result of every run it gave this worker,
// so waiting for the answer (up to the grace period) lets running runs
// finish and report; runs still going after it are handed back when the
// connection ends.
func (w *Worker) drain(ch wire.Chan, self wire.Worker) {
	w.log.Info("draining", "running", w.active.Load(), "grace", w.cfg.Grace)
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Grace)
	defer cancel()
	if err := w.offer(ctx, ch, self, 0); err != nil {
		w.log.Warn("leaving before every run was recorded; the gateway retries the rest", "running", w.active.Load(), "err", err)
	}
}

// encodeOffer writes an offer of slots, with the capability self.
func (w *Worker) encodeOffer(p wire.Chan_send_Params, self wire.Worker, slots int) error {
	o, err := p.NewOffer()
	if err != nil {
		return err
	}
	return rpc.EncodeOffer(o, self, rpc.Offer{
		Free:    rpc.Resources{Slots: slots, Memory: w.cfg.Memory, Millicores: int(w.cfg.Cores)},
		Labels:  w.cfg.offerLabels(),
		Cached:  w.Cached(),
		Version: version.Version,
		Held:    w.held.refs(),
	})
}

// Cached returns the hex sha256 of the modules the worker holds compiled,
// sorted: what its next offer will list.
func (w *Worker) Cached() []string {
	hs := w.runner.Cached()
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}
