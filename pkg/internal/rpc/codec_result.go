package rpc

import (
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// EncodeRunResult writes a worker's outcome of a run into dst. Of its
// timing, the worker fills in what it measured: Queue is its wait for a
// free slot, then Fetch, Compile, Instantiate and Exec; Placement and
// Total are the gateway's, and Lost never travels (a lost run has no
// answer).
func EncodeRunResult(dst wire.RunResult, o task.Outcome) error {
	tm := o.Timing
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"waitNs", tm.Queue}, {"fetchNs", tm.Fetch}, {"compileNs", tm.Compile}, {"instantiateNs", tm.Instantiate}, {"runNs", tm.Exec}} {
		if d.v < 0 {
			return malformed("runResult", d.field, "%d is negative", d.v)
		}
	}
	dst.SetOk(o.OK)
	dst.SetExitCode(o.ExitCode)
	dst.SetTruncated(o.Truncated)
	dst.SetFuel(o.Fuel)
	dst.SetWaitNs(int64(tm.Queue))
	dst.SetFetchNs(int64(tm.Fetch))
	dst.SetCompileNs(int64(tm.Compile))
	dst.SetInstantiateNs(int64(tm.Instantiate))
	dst.SetRunNs(int64(tm.Exec))
	if err := dst.SetResult(o.Result); err != nil {
		return err
	}
	return dst.SetError(o.Error)
}

// DecodeRunResult reads a worker's outcome of a run, as EncodeRunResult
// wrote it; a negative duration fails (ErrMalformed).
func DecodeRunResult(src wire.RunResult) (task.Outcome, error) {
	text, err := src.Result()
	if err != nil {
		return task.Outcome{}, err
	}
	reason, err := src.Error()
	if err != nil {
		return task.Outcome{}, err
	}
	var tm task.Timing
	for _, d := range []struct {
		field string
		v     int64
		to    *time.Duration
	}{
		{"waitNs", src.WaitNs(), &tm.Queue},
		{"fetchNs", src.FetchNs(), &tm.Fetch},
		{"compileNs", src.CompileNs(), &tm.Compile},
		{"instantiateNs", src.InstantiateNs(), &tm.Instantiate},
		{"runNs", src.RunNs(), &tm.Exec},
	} {
		if d.v < 0 {
			return task.Outcome{}, malformed("runResult", d.field, "%d is negative", d.v)
		}
		*d.to = time.Duration(d.v)
	}
	return task.Outcome{OK: src.Ok(), ExitCode: src.ExitCode(), Result: text, Error: reason, Truncated: src.Truncated(), Fuel: src.Fuel(), Timing: tm}, nil
}
