package gateway

import (
	"context"
	"encoding/hex"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/sched"
	"github.com/shoalmesh/shoal/pkg/task"
)

// inflight is a run attempt whose Worker.run call is under way.
type inflight struct {
	worker sched.WorkerID
	conn   *remoteWorker // the connection it was dispatched on
	cancel context.CancelFunc
}

// callGrace is how long past a run's own time limit the gateway waits for
// the worker's answer before it gives up on the call.
const callGrace = 30 * time.Second

// execute calls Worker.run for one dispatched attempt and records the outcome.
func (g *Gateway) execute(ctx context.Context, d sched.Dispatch, w wire.Worker, sink wire.LogSink) {
	defer g.tasks.Done()
	defer w.Release()
	defer sink.Release()
	timeout := d.Spec.Duration
	if timeout == 0 {
		timeout = g.cfg.TaskTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+callGrace)
	defer cancel()
	o := g.call(ctx, d, w, sink, timeout)
	answered := time.Now()

	g.mu.Lock()
	rw := g.inflight[d.Ref].conn
	delete(g.inflight, d.Ref)
	if !o.Lost {
		rw.alive.Heard()
	}
	current := g.sched.Finished(time.Now(), d.Ref, o, d.Worker)
	if !current {
		g.log.Debug("stale outcome", "run", d.Ref, "worker", d.Worker)
	}
	run, _ := g.sched.Run(d.Ref.Task, d.Ref.Index)
	rw.running-- // a draining worker waits for this to reach 0: see waitDrained
	if t, ok := g.sched.Task(d.Ref.Task); ok && t.Status.Done() {
		g.logs.close(d.Ref.Task)
	}
	g.notifyLocked()
	g.kick()
	saved := g.unlockSaved() // the run's record is durable once this returns
	g.metrics.answered(o, current, run, answered, saved)
}

// call runs d on w; its output goes to sink, the connection's log sink.
func (g *Gateway) call(ctx context.Context, d sched.Dispatch, w wire.Worker, sink wire.LogSink, timeout time.Duration) task.Outcome {
	sent := time.Now()
	f, release := w.Run(ctx, func(p wire.Worker_run_Params) error {
		if err := p.SetModules(g.source.AddRef()); err != nil {
			return err
		}
		if err := p.SetLogs(sink.AddRef()); err != nil {
			return err
		}
		spec, err := p.NewSpec()
		if err != nil {
			return err
		}
		return encodeSpec(spec, d, timeout, uint64(g.cfg.MaxOutput))
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		return task.Outcome{Lost: true, Error: "worker call failed: " + err.Error()}
	}
	r, err := res.Result()
	if err != nil {
		return task.Outcome{Lost: true, Error: "bad answer from worker: " + err.Error()}
	}
	text, _ := r.Result()
	reason, _ := r.Error()
	tm := task.Timing{
		Fetch:       time.Duration(r.FetchNs()),
		Compile:     time.Duration(r.CompileNs()),
		Instantiate: time.Duration(r.InstantiateNs()),
		Exec:        time.Duration(r.RunNs()),
	}
	tm.Placement = max(0, time.Since(sent)-tm.Fetch-tm.Compile-tm.Instantiate-tm.Exec)
	return task.Outcome{OK: r.Ok(), ExitCode: r.ExitCode(), Result: text, Error: reason, Truncated: r.Truncated(), Timing: tm}
}

func encodeSpec(s wire.RunSpec, d sched.Dispatch, timeout time.Duration, maxOutput uint64) error {
	sp := d.Spec
	mod, err := hex.DecodeString(sp.Module)
	if err != nil {
		return err
	}
	if err := s.SetTaskId(sp.ID); err != nil {
		return err
	}
	s.SetRun(uint32(d.Ref.Index))
	s.SetAttempt(uint32(d.Ref.Attempt))
	if err := s.SetModule(mod); err != nil {
		return err
	}
	if sp.Input != nil {
		s.SetHasInput(true)
		s.SetInput(*sp.Input)
	}
	if sp.Difficulty != nil {
		s.SetHasDifficulty(true)
		s.SetDifficulty(*sp.Difficulty)
	}
	if sp.Args != nil {
		if err := setTexts(s.NewArgs, sp.Args); err != nil {
			return err
		}
	}
	if err := setTexts(s.NewEnv, sp.Env); err != nil {
		return err
	}
	if len(sp.Stdin) > 0 {
		if err := s.SetStdin(sp.Stdin); err != nil {
			return err
		}
	}
	s.SetTimeoutMs(uint64(timeout.Milliseconds()))
	s.SetMemory(sp.Memory)
	s.SetMaxOutput(maxOutput)
	if len(sp.Dirs) > 0 {
		return setTexts(s.NewDirs, sp.Dirs)
	}
	return nil
}

func setTexts(alloc func(int32) (capnp.TextList, error), xs []string) error {
	l, err := alloc(int32(len(xs)))
	if err != nil {
		return err
	}
	for i, x := range xs {
		if err := l.Set(i, x); err != nil {
			return err
		}
	}
	return nil
}
