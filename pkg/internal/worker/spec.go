package worker

import (
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// The worker's two translations of a run, between the wire's plain types
// (decoded and encoded by pkg/internal/rpc) and the runner's: a per-run
// field reaches the runner, or comes back from it, through here.

// runnerSpec is what the runner needs of s, with the host directories the
// worker grants for s.Dirs; it fails when the worker offers no directory
// of one of those names (see Config.grant).
func (w *Worker) runnerSpec(s task.RunSpec) (wasmrun.Spec, error) {
	dirs, err := w.cfg.grant(s.Dirs)
	if err != nil {
		return wasmrun.Spec{}, err
	}
	h, err := wasmrun.ParseHash(s.Module) // the codec checked it
	if err != nil {
		return wasmrun.Spec{}, err
	}
	return wasmrun.Spec{
		Module:     h,
		Name:       s.Ref.Task,
		Input:      s.Input,
		Difficulty: s.Difficulty,
		Args:       s.Args,
		Env:        s.Env,
		Stdin:      s.Stdin,
		Dirs:       dirs,
		Timeout:    s.Timeout,
		Memory:     s.Memory,
		MaxOutput:  s.MaxOutput,
		Fuel:       s.Fuel,
	}, nil
}

// report is what the worker tells the gateway of o: the runner's result
// and the phases the worker measured (the wait for a slot is the worker's
// part of the run's queue time).
func (o outcome) report() task.Outcome {
	return task.Outcome{
		OK:        o.OK,
		ExitCode:  o.ExitCode,
		Result:    o.Output,
		Error:     o.Error,
		Truncated: o.Truncated,
		Fuel:      o.Fuel,
		Timing: task.Timing{
			Queue:       o.wait,
			Fetch:       o.fetch,
			Compile:     o.compile,
			Instantiate: o.Instantiate,
			Exec:        o.Run,
		},
	}
}
