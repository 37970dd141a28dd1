package gateway

import (
	"context"
	"fmt"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// inflight is a run attempt whose call to its worker is under way.
type inflight struct {
	worker sched.WorkerID
	conn   *remoteWorker // the connection it was dispatched on
	cancel context.CancelFunc
	// shared: the call carries other runs too (Worker.runs), so canceling
	// its task must not cancel the call; the run is short, and its outcome
	// is not counted once the task is canceled.
	shared bool
	// started is when it was dispatched, and deadline the end of its time
	// limit counted from then: what its spawns may have (procs.go).
	started, deadline time.Time
	// inputs are the files of its working directory (a task's bundle),
	// which its connection's source serves while it runs.
	inputs []task.Input
}

// callGrace is how long past a run's own time limit the gateway waits for
// the worker's answer before it gives up on the call.
const callGrace = 30 * time.Second

// execute calls its worker for dispatched attempts and records their
// outcomes: Worker.run for one, Worker.runs for several short ones. stop
// cancels ctx, which is the call's own (see inflight); ahead is how many
// runs the worker held before these, which they may wait behind.
func (g *Gateway) execute(ctx context.Context, stop context.CancelFunc, ds []sched.Dispatch, specs []task.RunSpec, ahead int, w wire.Worker, caps peerCaps) {
	defer g.tasks.Done()
	defer w.Release()
	defer caps.release()
	defer stop() // else ctx stays among its parent's children
	var longest time.Duration
	for _, s := range specs {
		longest = max(longest, s.Timeout)
	}
	// The call's limit, a guard against a worker that never answers: every
	// run it holds in turn, at this call's longest time limit, plus the
	// grace. (The worker ends each run at its own limit.)
	limit := time.Duration(ahead+len(ds))*longest + callGrace
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	g.metrics.called(len(ds))
	var outs []task.Outcome
	switch {
	case ds[0].Adopted: // alone (adoptLocked)
		outs = []task.Outcome{g.callAdopted(ctx, specs[0], w)}
	case ds[0].Spec.Job != nil: // never with others (sched: a job is not short)
		outs = []task.Outcome{g.callJob(ctx, ds[0], specs[0], w, caps)}
	case len(ds) == 1:
		outs = []task.Outcome{g.call(ctx, specs[0], w, caps)}
	default:
		outs = g.callMany(ctx, specs, w, caps)
	}
	answered := time.Now()

	g.mu.Lock()
	currents := make([]bool, len(ds))
	runs := make([]task.Run, len(ds))
	var tell []func()
	for i, d := range ds {
		currents[i], runs[i] = g.finishedLocked(d, outs[i])
		g.releasedLocked(d)
		tell = append(tell, g.endedLocked(d.Ref, outs[i], answered)...)
	}
	g.notifyLocked()
	g.kick()
	saved := g.unlockSaved()   // the runs' records are durable once this returns
	if ds[0].Spec.Job != nil { // its status is final (or queued again) once saved
		g.mu.Lock()
		g.jobEndedLocked(ds[0].Ref.Task)
		g.mu.Unlock()
	}
	for _, f := range tell {
		go f()
	}
	for i := range ds {
		g.metrics.answered(outs[i], currents[i], runs[i], ds[i].Spec.Owner, answered, saved)
	}
}

// finishedLocked records the outcome of d, dispatched by execute; it
// returns whether the outcome counted (see sched.Finished) and the run as
// recorded.
func (g *Gateway) finishedLocked(d sched.Dispatch, o task.Outcome) (bool, task.Run) {
	f := g.inflight[d.Ref]
	rw := f.conn
	delete(g.inflight, d.Ref)
	granted := modulesOf(&d.Spec)
	for _, in := range f.inputs {
		granted = append(granted, in.SHA256)
	}
	for _, m := range granted {
		if rw.grants[m]--; rw.grants[m] == 0 {
			delete(rw.grants, m)
		}
	}
	if !o.Lost {
		rw.alive.Heard()
	}
	current, run := g.sched.Finished(time.Now(), d.Ref, o, d.Worker)
	if !current {
		g.log.Debug("stale outcome", "run", d.Ref, "worker", d.Worker)
	}
	rw.running-- // a draining worker waits for this to reach 0: see waitDrained
	return current, run
}

// runSpec is what the worker needs for d: its task's, with the gateway's
// limits.
func (g *Gateway) runSpec(d sched.Dispatch) task.RunSpec {
	s := d.Spec.RunSpec(d.Ref)
	if s.Timeout == 0 {
		s.Timeout = g.cfg.TaskTimeout
	}
	s.MaxOutput = g.cfg.MaxOutput
	if d.Spec.Shared {
		s.MaxFiles = g.cfg.MaxJobFiles
	}
	return s
}

// call runs s on w; its output goes to the connection's log sink, and its
// module comes from the connection's source.
func (g *Gateway) call(ctx context.Context, s task.RunSpec, w wire.Worker, caps peerCaps) task.Outcome {
	var files *jobEvents // a run with a /shared sends its files there
	if s.MaxFiles > 0 {
		g.mu.Lock()
		files = &jobEvents{g: g, ref: s.Ref, conn: g.inflight[s.Ref].conn}
		g.mu.Unlock()
	}
	sent := time.Now()
	f, release := w.Run(ctx, func(p wire.Worker_run_Params) error {
		if err := caps.give(p); err != nil {
			return err
		}
		if files != nil {
			if err := p.SetFiles(wire.JobEvents_ServerToClient(files)); err != nil {
				return err
			}
		}
		spec, err := p.NewSpec()
		if err != nil {
			return err
		}
		return rpc.EncodeRunSpec(spec, s)
	})
	defer release()
	res, err := f.Struct()
	o := answered(res, err, sent)
	if files != nil && !o.Lost && g.holds(s.Ref, files.conn) {
		// The task's artifacts are those of its run that ended last.
		if err := g.st.PutFiles(s.Ref.Task, files.take()); err != nil {
			o.OK, o.ExitCode = false, -1
			o.Error = "store artifacts: " + storeErr(err).Error()
		}
	}
	return o
}

// callMany runs specs on w in one Worker.runs call, and returns their
// outcomes in order; if the call fails, every run in it is lost.
func (g *Gateway) callMany(ctx context.Context, specs []task.RunSpec, w wire.Worker, caps peerCaps) []task.Outcome {
	outs := make([]task.Outcome, len(specs))
	lost := func(why string) []task.Outcome {
		for i := range outs {
			outs[i] = task.Outcome{Lost: true, Error: why}
		}
		return outs
	}
	sent := time.Now()
	f, release := w.Runs(ctx, func(p wire.Worker_runs_Params) error {
		if err := caps.give(p); err != nil {
			return err
		}
		l, err := p.NewSpecs(int32(len(specs)))
		if err != nil {
			return err
		}
		for i, s := range specs {
			if err := rpc.EncodeRunSpec(l.At(i), s); err != nil {
				return err
			}
		}
		return nil
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return lost("worker call failed: " + err.Error())
	}
	rs, err := res.Results()
	if err == nil && rs.Len() != len(specs) {
		err = fmt.Errorf("%d results for %d runs", rs.Len(), len(specs))
	}
	if err != nil {
		return lost("bad answer from worker: " + err.Error())
	}
	for i := range outs {
		outs[i] = decodeResult(rs.At(i), sent)
	}
	return outs
}

// oneResult is a worker's answer that carries one run's result.
type oneResult interface {
	Result() (wire.RunResult, error)
}

// answered reads a worker's answer that carries one run's result (a
// call sent at sent), or the call's failure (a lost run).
func answered[R oneResult](res R, err error, sent time.Time) task.Outcome {
	if err != nil {
		return task.Outcome{Lost: true, Error: "worker call failed: " + err.Error()}
	}
	r, err := res.Result()
	if err != nil {
		return task.Outcome{Lost: true, Error: "bad answer from worker: " + err.Error()}
	}
	return decodeResult(r, sent)
}

// decodeResult reads a worker's answer for a run whose call was sent at
// sent; a malformed one counts the run lost. The worker measured the
// run's phases; the rest of the round trip is the mesh's own (Placement).
func decodeResult(r wire.RunResult, sent time.Time) task.Outcome {
	o, err := rpc.DecodeRunResult(r)
	if err != nil {
		return task.Outcome{Lost: true, Error: "bad answer from worker: " + err.Error()}
	}
	tm := &o.Timing
	tm.Placement = max(0, time.Since(sent)-tm.Queue-tm.Fetch-tm.Compile-tm.Instantiate-tm.Exec)
	return o
}
