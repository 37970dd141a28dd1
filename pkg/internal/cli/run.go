package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

const runUsage = "run APP.wasm [ARGS...] [flags]"

const runHelp = `Runs APP.wasm, a WASI command, once on the mesh, as if it ran here: ARGS
are its arguments (argv after argv[0]), its output is printed as it comes,
and shoal exits with its exit code. The run is the root of a process tree
(pid 0); the processes it spawns (docs/PROCESSES.md) print here too, each
line prefixed with the pid that wrote it:

  [0] parent start
  [1] child start

Their stderr goes to stderr, and so do shoal's own lines, without a
prefix and dimmed on a colour terminal: the task's id (for shoal task ID,
which shows the tree) and the cores and memory each process reserves:

  Reserving resources for 1 on QjhBsoQE (before: ...; delta: cores=1/16,memory=64 MiB)

--simple prints the output as it was written: no prefixes, no lines of
shoal's own.

When the run fails without an exit code of its own (a trap, a time or
memory limit), shoal prints why and exits 1. Ctrl-C (SIGINT or SIGTERM)
cancels the task, which ends the whole tree, and exits 130.

Flags may come before or after APP.wasm; arguments that start with '-' go
after '--': shoal run app.wasm --cores 1/4 -- -v input.txt`

// runOmits are the task request fields `shoal run` has no flag for: the
// arguments come after the module, there is one run, and it starts now.
// Its time limit is --timeout.
var runOmits = map[string]bool{
	"args": true, "repeats": true, "start": true, "delay": true, "complete": true,
	"input": true, "difficulty": true, "duration": true,
}

// cancelTimeout bounds the cancellation of an interrupted run's task.
const cancelTimeout = 10 * time.Second

// exitInterrupted is a shell's exit code for a command ended by SIGINT.
const exitInterrupted = 130

func runRun(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "run", runUsage)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(e.stderr, "\n%s\n", runHelp)
	}
	gw := gatewayFlag(fs)
	var f submitFlags
	f.registerFields(fs, runOmits)
	timeout, _ := api.TaskField("timeout")
	fs.Var(&fieldFlag{field: timeout, vals: f.vals}, "timeout", "time limit of the run: seconds, or a duration like 1m30s (default: the gateway's --task-timeout)")
	simple := fs.Bool("simple", false, "print the output as the module wrote it: no [PID] prefixes, no lines of the gateway")
	raw := fs.Bool("raw", false, "pass the module's output to the terminal as it is, escape sequences included (default: control characters are shown escaped, like \\x1b, on a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if len(pos) == 0 {
		return usageError(e, "run", runUsage, "missing APP.wasm")
	}
	mod, err := readModule(pos[0])
	if err != nil {
		return e.errorf("run: %v", err)
	}
	argv, _ := json.Marshal(append([]string{}, pos[1:]...)) // [] rather than the default argv
	f.vals["args"] = []string{string(argv)}
	s, err := f.submission(mod)
	if err != nil {
		return e.errorf("run: %v", err)
	}
	c, code := connect(e, "run", gw)
	if c == nil {
		return code
	}
	tv, err := c.Submit(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return interruptedSubmit(e, s.ID)
		}
		return submitFailed(e, "run", pos[0], s.ID, err)
	}
	out := newProcOutput(e.stdout, e.stderr, *simple, *raw)
	if !*simple {
		_ = out.note("task " + tv.ID) // for `shoal task ID`, which shows the tree
	}
	return followRun(ctx, e, c, tv.ID, out)
}

// followRun prints the output of task id until it ends, and returns the
// exit code of its run; an interrupt cancels the task.
func followRun(ctx context.Context, e *env, c *client.Client, id string, out *procOutput) int {
	end, err := c.Follow(ctx, id, out.write)
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	switch {
	case ctx.Err() != nil:
		return cancelRun(ctx, e, c, id)
	case errors.Is(err, client.ErrStreamEnded):
		return e.errorf("run: the gateway closed the log stream before task %s ended (did it stop?); `shoal task %s` shows where it stands", id, id)
	case err != nil:
		return failed(e, "run", id, err)
	}
	return runExit(e, end)
}

// cancelRun cancels the task of an interrupted run: the gateway ends its
// whole process tree.
func cancelRun(ctx context.Context, e *env, c *client.Client, id string) int {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer stop()
	_, err := c.Cancel(cctx, id)
	switch {
	case err == nil:
		e.errorf("run: interrupted; task %s canceled", id)
	case errors.Is(err, api.ErrConflict):
		e.errorf("run: interrupted; task %s had already ended (`shoal task %s` shows it)", id, id)
	default:
		e.errorf("run: interrupted, but task %s could not be canceled: %v; `shoal cancel %s` stops it", id, err, id)
	}
	return exitInterrupted
}

// interruptedSubmit reports an interrupt during the upload, when the task
// may or may not have been made.
func interruptedSubmit(e *env, id string) int {
	if id != "" {
		e.errorf("run: interrupted while submitting; if task %s was made, `shoal cancel %s` stops it", id, id)
	} else {
		e.errorf("run: interrupted while submitting; `shoal tasks` shows whether the task was made")
	}
	return exitInterrupted
}

// runExit is the exit code of an ended task's run (its last attempt): the
// module's own exit code, or 1 when it failed without one, saying why.
func runExit(e *env, end api.Task) int {
	var r api.Run
	if n := len(end.Runs); n > 0 {
		r = end.Runs[n-1]
	}
	switch end.Status {
	case api.Succeeded:
		return 0
	case api.Canceled:
		return e.errorf("run: task %s was canceled", end.ID)
	}
	code := r.ExitCode
	if code > 0 && code < 256 { // an exit code a shell can see
		return int(code)
	}
	if r.Error != "" {
		return e.errorf("run: %s", r.Error)
	}
	return e.errorf("run: task %s %s", end.ID, end.Status)
}
