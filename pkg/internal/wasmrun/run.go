package wasmrun

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// Spec describes one run of a compiled module.
type Spec struct {
	// Module is the compiled module to run.
	Module Hash
	// Name is argv[0], the task id.
	Name string
	// Input and Difficulty are the two integers of a task. The ww ABI passes
	// them to run (nil is 0; they must fit in an i32); a command gets them as
	// argv when Args is nil.
	Input, Difficulty *int64
	// Args is argv after argv[0]. When nil and Input or Difficulty is set,
	// argv is [Name, input, difficulty] (a missing one is 0).
	Args []string
	// Env holds "K=V" entries, the whole environment of the run.
	Env []string
	// Stdin is all the run can read from stdin; then it reads EOF.
	Stdin []byte
	// Dirs are the host directories the run may use, each mounted at
	// "/" + Name; without them the run has no file system at all.
	Dirs []Dir
	// Timeout ends the run with "time limit of ... exceeded"; 0 or less is
	// no limit.
	Timeout time.Duration
	// Fuel ends the run with "fuel exhausted (limit N)" once it has used
	// more than N units of fuel (see Result.Fuel); 0 is no limit. It needs
	// Config.Preempt "instrument".
	Fuel uint64
	// Memory is the most linear memory the run may use, in bytes; 0 means
	// Config.MemoryLimit, and more than it is capped at it.
	Memory uint64
	// MaxOutput is how many bytes of stdout a command keeps as its result;
	// 0 or less means Config.MaxOutput.
	MaxOutput int
	// Stdout and Stderr, when not nil, receive live copies of the streams
	// (log streaming). The module never waits for them: up to 256 KiB per
	// stream is buffered, and when a writer falls further behind, bytes are
	// dropped and a "[shoal: N bytes dropped ...]" notice takes their place.
	// Run returns once they have everything, or 500 ms after the module ended,
	// or when ctx ends; a Write still blocked then only holds its own
	// goroutine until it returns. Writes come from one goroutine per stream.
	Stdout, Stderr io.Writer
	// Processes serves the run's shoal process functions (spawn, send,
	// recv, ...; docs/PROCESSES.md); nil: they return ERR_UNSUPPORTED.
	Processes proc.Host
}

// Result is the outcome of a run.
type Result struct {
	// OK is true when the run succeeded: run returned (ww ABI), or the
	// command exited with code 0.
	OK bool
	// ExitCode is the WASI exit code: 0 when the module returned normally, N
	// after proc_exit(N), and -1 when it did not exit on its own (trap,
	// timeout, cancellation, memory limit, or a run that never started).
	ExitCode int32
	// Output is the result: for the ww ABI, run's returned integer in
	// decimal; for a command, stdout, cut at MaxOutput bytes.
	Output string
	// Truncated says stdout was longer than MaxOutput; the rest was discarded.
	Truncated bool
	// NotCompiled: the module was not in memory (never compiled, or evicted
	// by the cache since): compile it and run again.
	NotCompiled bool
	// Error says why the run failed, for people: "module not compiled",
	// "time limit of 5s exceeded", "fuel exhausted (limit 1000)", "memory limit of 64 MiB exceeded (trap: ...)",
	// "trap: unreachable ...", "exit code 3", ...; "" when OK.
	Error string
	// Instantiate is the time spent creating the instance, including a ww
	// module's _initialize or _start.
	Instantiate time.Duration
	// Run is the time spent in run (ww ABI) or _start (command).
	Run time.Duration
	// Fuel is what the run used, in instructions counted statically per
	// call and per loop iteration (see package preempt): the same for the
	// same module, input and host answers (clocks and random bytes can
	// change a program's path). A run stopped early counts up to its last
	// check. 0 when the Runner does not instrument modules.
	Fuel uint64
}

// failure is the Result of a run that ended before the module could exit.
func failure(reason string) Result { return Result{ExitCode: -1, Error: reason} }

// Run runs spec.Module, compiled before by Compile, in a fresh instance,
// and reports how it went: a failed run is a Result, never a panic or an
// error of the Runner, which stays usable. Run is safe for concurrent use.
// Ending ctx cancels the run.
func (r *Runner) Run(ctx context.Context, spec Spec) (res Result) {
	if err := r.enter(); err != nil {
		return failure(err.Error())
	}
	defer r.active.Done()
	defer func() {
		if p := recover(); p != nil {
			res = failure(fmt.Sprintf("internal error: %v", p))
		}
	}()

	m := r.acquire(spec.Module)
	if m == nil {
		res = failure(ErrNotCompiled.Error())
		res.NotCompiled = true
		return res
	}
	defer r.release(m) // after the instance is closed
	x, err := r.prepare(spec, m)
	if err != nil {
		return failure(err.Error())
	}
	defer x.close(ctx)
	return x.execute(ctx)
}

// argv is the command line of a run.
func (s Spec) argv() []string {
	argv := []string{s.Name}
	switch {
	case s.Args != nil:
		argv = append(argv, s.Args...)
	case s.Input != nil || s.Difficulty != nil:
		argv = append(argv, strconv.FormatInt(deref(s.Input), 10), strconv.FormatInt(deref(s.Difficulty), 10))
	}
	return argv
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// i32 returns the value of an optional ww argument.
func i32(name string, p *int64) (int32, error) {
	v := deref(p)
	if int64(int32(v)) != v {
		return 0, fmt.Errorf("%s %d does not fit in an i32", name, v)
	}
	return int32(v), nil
}
