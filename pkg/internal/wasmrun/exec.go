package wasmrun

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	shoal "github.com/shoalmesh/shoal/pkg/api"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// stepInstantiate names the instantiation in a stepError.
const stepInstantiate = "instantiate"

// timeoutError is the cause of a run's context when its Timeout passed.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string { return "time limit of " + e.after.String() + " exceeded" }

// baseModuleConfig is the part of every run's module configuration that does
// not depend on the Spec.
func baseModuleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName("").         // anonymous: instances of one module never collide
		WithStartFunctions(). // run by execute, so that it can time and classify them
		WithSysWalltime().
		WithRandSource(rand.Reader)
}

// runClock is a run's monotonic clock: nanoseconds since the run began,
// not the host's, whose value tells how long the machine has been up.
func runClock() sys.Nanotime {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}

// execution is one run in progress.
type execution struct {
	r      *Runner
	m      *module
	spec   Spec
	config wazero.ModuleConfig
	mem    *runMemory
	meter  *meter // nil unless the Runner instruments modules
	procs  *processState
	stdout *capture // nil for the ww ABI, whose result is not stdout
	lives  []*live
	roots  []*os.Root // the granted directories, closed after the run

	input, difficulty int32 // the ww ABI's arguments
}

// prepare checks spec against m and builds the instance's configuration.
func (r *Runner) prepare(spec Spec, m *module) (*execution, error) {
	limit := r.cfg.MemoryLimit
	if spec.Memory > 0 && spec.Memory < limit {
		limit = spec.Memory
	}
	x := &execution{r: r, m: m, spec: spec, mem: newRunMemory(limit), procs: &processState{host: spec.Processes}}
	if m.minMemory > x.mem.limit {
		return nil, memoryLimitError(m.minMemory, x.mem.limit)
	}
	switch {
	case r.instrument():
		x.meter = &meter{limit: spec.Fuel}
	case spec.Fuel > 0:
		return nil, fmt.Errorf("a fuel limit needs instrumented modules (preempt %q, not %q)", PreemptInstrument, r.cfg.Preempt)
	}
	if m.abi == ABIWW {
		var err error
		if x.input, err = i32("input", spec.Input); err != nil {
			return nil, err
		}
		if x.difficulty, err = i32("difficulty", spec.Difficulty); err != nil {
			return nil, err
		}
	}
	c := r.base.WithArgs(spec.argv()...).WithStdin(bytes.NewReader(spec.Stdin))
	for _, kv := range spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("env entry %q is not K=V", kv)
		}
		c = c.WithEnv(k, v)
	}
	var stdout io.Writer = io.Discard
	if m.abi == ABICommand {
		maxOutput := spec.MaxOutput
		if maxOutput <= 0 {
			maxOutput = r.cfg.MaxOutput
		}
		x.stdout = &capture{max: maxOutput}
		stdout = x.stdout
	}
	fsc, roots, err := mountDirs(spec.Dirs)
	if err != nil {
		return nil, err
	}
	if fsc != nil {
		c = c.WithFSConfig(fsc)
	}
	x.roots = roots
	x.config = c.WithStdout(x.tee(stdout, spec.Stdout)).WithStderr(x.tee(io.Discard, spec.Stderr))
	return x, nil
}

// tee adds a live copy to w when the caller asked for one.
func (x *execution) tee(w, copyTo io.Writer) io.Writer {
	if copyTo == nil {
		return w
	}
	l := startLive(copyTo)
	x.lives = append(x.lives, l)
	if w == io.Discard {
		return l
	}
	return io.MultiWriter(w, l)
}

// close releases what the run held once its instance is closed.
func (x *execution) close(ctx context.Context) {
	for _, l := range x.lives {
		l.close(ctx)
	}
	closeRoots(x.roots)
}

// execute instantiates the module and calls it under the run's context.
func (x *execution) execute(parent context.Context) (res Result) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	defer context.AfterFunc(x.r.stop, func() { cancel(ErrClosed) })()
	if t := x.spec.Timeout; t > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, t, &timeoutError{t})
		defer cancelTimeout()
	}

	// Every call into the module runs under ctx: the process functions find
	// their state there, and end the run when ctx ends.
	x.procs.lives = x.lives
	ctx = context.WithValue(ctx, processKey{}, x.procs)
	if x.meter != nil {
		// Every call into the module runs under ctx: yield finds the meter there.
		ctx = context.WithValue(ctx, meterKey{}, x.meter)
		stopForce := context.AfterFunc(ctx, x.meter.force)
		defer stopForce() // fuel, read before, has ended a force under way
	}

	start := time.Now()
	config := x.config.WithNanosleep(sleeper(ctx)).WithNanotime(runClock(), 1)
	mod, err := x.r.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, x.mem), x.m.compiled, config)
	if err != nil {
		res.Instantiate = time.Since(start)
		x.settle(ctx, &res, &stepError{stepInstantiate, err})
		res.Fuel = x.fuel(nil)
		return res
	}
	defer mod.Close(context.WithoutCancel(ctx))
	defer func() { res.Fuel = x.fuel(mod) }()

	if x.m.abi == ABIWW {
		err = x.callWW(ctx, mod, &res, start)
	} else {
		res.Instantiate = time.Since(start)
		start = time.Now()
		_, err = mod.ExportedFunction(startExport).Call(ctx)
		res.Run = time.Since(start)
		res.Output = string(x.stdout.buf)
		res.Truncated = x.stdout.truncated
	}
	x.settle(ctx, &res, err)
	return res
}

// callWW runs a ww module's initialization, then run(input, difficulty).
func (x *execution) callWW(ctx context.Context, mod api.Module, res *Result, start time.Time) error {
	if x.m.init != "" {
		_, err := mod.ExportedFunction(x.m.init).Call(context.WithValue(ctx, initPhaseKey{}, true))
		if err != nil && !errors.Is(err, errInitExit) {
			res.Instantiate = time.Since(start)
			return &stepError{x.m.init, err}
		}
	}
	res.Instantiate = time.Since(start)
	start = time.Now()
	out, err := mod.ExportedFunction(runExport).Call(ctx, api.EncodeI32(x.input), api.EncodeI32(x.difficulty))
	res.Run = time.Since(start)
	if err != nil {
		return err
	}
	res.Output = strconv.FormatInt(int64(api.DecodeI32(out[0])), 10)
	return nil
}

// fuel is the fuel the run used (0 without instrumentation).
func (x *execution) fuel(mod api.Module) uint64 {
	if x.meter == nil {
		return 0
	}
	return x.meter.fuel(mod)
}

// settle fills in OK, ExitCode and Error from how the module's calls ended.
func (x *execution) settle(ctx context.Context, res *Result, err error) {
	var exit *sys.ExitError
	isExit := errors.As(err, &exit) &&
		exit.ExitCode() != sys.ExitCodeDeadlineExceeded && exit.ExitCode() != sys.ExitCodeContextCanceled
	switch {
	case x.meter != nil && x.meter.stopped != "":
		// yield ended the run: its time, its cancellation or its fuel.
		res.ExitCode = -1
		res.Error = x.meter.stopped
		return
	case ctx.Err() != nil && !isExit:
		// Stopped, even if the module then returned normally: a sleep cut
		// short by the end of the run returns early, and its result is void.
		res.ExitCode = -1
		res.Error = stopReason(ctx)
		return
	case err == nil:
		res.OK = true
		return
	case isExit:
		res.ExitCode = int32(exit.ExitCode())
		if res.ExitCode == 0 && x.m.abi == ABICommand {
			res.OK = true
			return
		}
		res.Error = fmt.Sprintf("exit code %d", res.ExitCode)
		if res.ExitCode == 0 {
			res.Error = "exit code 0 before run returned"
		}
	default:
		res.ExitCode = -1
		res.Error = describe(err)
	}
	if x.mem.exhausted() {
		res.Error = fmt.Sprintf("memory limit of %s exceeded (%s)", shoal.FormatBytes(x.mem.limit), res.Error)
	}
}

// stopReason says why the run's context ended.
func stopReason(ctx context.Context) string {
	cause := context.Cause(ctx)
	var timeout *timeoutError
	if errors.As(cause, &timeout) || errors.Is(cause, ErrClosed) {
		return cause.Error()
	}
	return "canceled: " + cause.Error()
}

// maxErrorLen bounds a Result.Error; wasm stack traces can be long.
const maxErrorLen = 2048

// stepError is an error of instantiation or of a ww module's initialization.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// describe turns a wazero error into a Result.Error. Every error of a call
// into the module is a trap (wazero says "wasm error: unreachable", but
// just "stack overflow"); instantiation may also fail for other reasons.
func describe(err error) string {
	step := ""
	var se *stepError
	if errors.As(err, &se) {
		step, err = se.step+": ", se.err
	}
	msg := err.Error()
	// A Go stack trace follows a blank line when a host function panicked.
	msg, _, _ = strings.Cut(msg, "\n\n")
	if rest, ok := strings.CutPrefix(msg, "wasm error: "); ok {
		msg = "trap: " + rest
	} else if se == nil || se.step != stepInstantiate {
		msg = "trap: " + msg
	}
	msg = step + msg
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen] + "..."
	}
	return msg
}
