package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

const submitUsage = "submit FILE.wasm [flags]"

// submitFlags are the flags of `shoal submit`, one per field of the form.
type submitFlags struct {
	id, description            string
	complete, input, difficult int64
	repeats, retries, priority int
	start, delay, duration     string
	memory, stdin              string
	args, env, labels, dirs    stringList
	wait, json                 bool
}

func (f *submitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.id, "id", "", "task id (default: one the gateway makes)")
	fs.StringVar(&f.description, "description", "", "free text describing the task")
	fs.Int64Var(&f.complete, "complete", 0, "initial value of the task's completions counter")
	fs.Int64Var(&f.input, "input", 0, "integer input passed to the module")
	fs.Int64Var(&f.difficult, "difficulty", 0, "integer difficulty passed to the module")
	fs.Var(&f.args, "args", "argument after argv[0] for a WASI command, repeatable")
	fs.Var(&f.env, "env", "K=V environment entry for the module, repeatable")
	fs.StringVar(&f.stdin, "stdin", "", "file fed to the module's stdin")
	fs.IntVar(&f.repeats, "repeats", 1, "number of runs")
	fs.StringVar(&f.start, "start", "0", "time before the first run: seconds, or a duration like 1m30s")
	fs.StringVar(&f.delay, "delay", "0", "time between the starts of consecutive runs: seconds, or a duration")
	fs.StringVar(&f.duration, "duration", "", "time limit of one run: seconds, or a duration (default: the gateway's --task-timeout)")
	fs.StringVar(&f.memory, "memory", "", "memory limit of one run, like 64MiB (default: the worker's --run-memory)")
	fs.IntVar(&f.retries, "retries", 0, "attempts after a lost worker (default: the gateway's --retries)")
	fs.IntVar(&f.priority, "priority", 0, "higher runs first among runs that are due, -1000 to 1000")
	fs.Var(&f.labels, "label", "label a worker must offer to run the task, repeatable")
	fs.Var(&f.dirs, "dir", "directory NAME a worker offers (shoal worker --allow-dir NAME=PATH), mounted at /NAME in the module, repeatable")
	fs.BoolVar(&f.wait, "wait", false, "wait for the task to end: show progress, stream its output, print its runs; exit 1 unless it succeeded")
	fs.BoolVar(&f.json, "json", false, "print the task as JSON (with --wait: the ended task; the module's output then goes to stderr)")
}

func runSubmit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "submit", submitUsage)
	gw := gatewayFlag(fs)
	var f submitFlags
	f.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, "submit", submitUsage, pos, "FILE.wasm"); code != 0 {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	s, err := f.submission(set)
	if err != nil {
		return usageError(e, "submit", submitUsage, "%v", err)
	}
	if s.Wasm, err = readModule(pos[0]); err != nil {
		return e.errorf("submit: %v", err)
	}
	if set["stdin"] {
		if s.Stdin, err = readInput(f.stdin); err != nil {
			return e.errorf("submit: --stdin %v", err)
		}
	}
	c, code := connect(e, "submit", gw)
	if c == nil {
		return code
	}
	tv, err := c.Submit(ctx, s)
	if err != nil {
		return submitFailed(e, pos[0], s.ID, err)
	}
	switch {
	case f.wait:
		fmt.Fprintf(e.stderr, "%s %s\n", tv.ID, tv.Status)
		return waitTask(ctx, e, c, tv, f.json)
	case f.json:
		_ = printJSON(e.stdout, tv)
	default:
		fmt.Fprintf(e.stdout, "%s %s\n", tv.ID, tv.Status)
	}
	return 0
}

// submission checks the flags and makes the form of the ones that were set.
func (f *submitFlags) submission(set map[string]bool) (client.Submission, error) {
	s := client.Submission{ID: f.id, Description: f.description, Complete: f.complete, Priority: f.priority}
	switch {
	case f.id != "" && !task.ValidID(f.id):
		return s, fmt.Errorf("--id %q: use 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit", f.id, task.MaxIDLen)
	case f.complete < 0:
		return s, fmt.Errorf("--complete: must not be negative, got %d", f.complete)
	case f.repeats < 1 || f.repeats > task.MaxRepeats:
		return s, fmt.Errorf("--repeats: must be between 1 and %d, got %d", task.MaxRepeats, f.repeats)
	case set["retries"] && (f.retries < 0 || f.retries > task.MaxRetries):
		return s, fmt.Errorf("--retries: must be between 0 and %d, got %d", task.MaxRetries, f.retries)
	}
	if set["repeats"] {
		s.Repeats = f.repeats
	}
	if set["input"] {
		s.Input = &f.input
	}
	if set["difficulty"] {
		s.Difficulty = &f.difficult
	}
	if set["retries"] {
		s.Retries = &f.retries
	}
	for _, d := range []struct {
		name, value string
		dst         *time.Duration
	}{{"start", f.start, &s.Start}, {"delay", f.delay, &s.Delay}, {"duration", f.duration, &s.Duration}} {
		if !set[d.name] {
			continue
		}
		v, err := parseSeconds(d.value)
		if err != nil {
			return s, fmt.Errorf("--%s: %v", d.name, err)
		}
		*d.dst = v
	}
	if set["memory"] {
		n, err := parseSize(f.memory)
		if err != nil {
			return s, fmt.Errorf("--memory: %v", err)
		}
		s.Memory = n
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return s, fmt.Errorf("--env %q: want K=V, like --env LEVEL=3", kv)
		}
	}
	if set["args"] {
		s.Args = f.args
	}
	s.Env, s.Labels, s.Dirs = f.env, f.labels, f.dirs
	return s, nil
}

// parseSeconds reads a time as the form takes it, a number of seconds, or
// as a Go duration like 1m30s.
func parseSeconds(v string) (time.Duration, error) {
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return 0, fmt.Errorf("%q is neither a number of seconds nor a duration like 1m30s", v)
		}
		secs = d.Seconds()
	}
	switch {
	case secs < 0:
		return 0, fmt.Errorf("must not be negative, got %s", v)
	case secs > task.MaxSeconds:
		return 0, fmt.Errorf("must be at most %d seconds, got %s", task.MaxSeconds, v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

var wasmMagic = []byte("\x00asm")

// readModule reads FILE.wasm and checks that it is a binary module.
func readModule(path string) ([]byte, error) {
	b, err := readInput(path)
	switch {
	case err != nil:
		return nil, err
	case bytes.HasPrefix(b, wasmMagic):
		return b, nil
	case bytes.HasPrefix(bytes.TrimSpace(b), []byte("(module")):
		return nil, fmt.Errorf("%s is WebAssembly text; compile it to a binary module first (wat2wasm %s)", path, path)
	}
	return nil, fmt.Errorf("%s is not a WebAssembly module (a binary module starts with \\0asm); give the path of a compiled .wasm file", path)
}

// readInput reads a file named on the command line, saying what to fix
// when it cannot.
func readInput(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	var pe *fs.PathError
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file; check the path", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("%s: not readable (permission denied); check the file's permissions", path)
	case errors.As(err, &pe) && isDir(path):
		return nil, fmt.Errorf("%s is a directory; give a file", path)
	}
	return nil, fmt.Errorf("%s: %w", path, err)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// flagOf names the command-line flag behind each form field the gateway
// may reject.
var flagOf = map[string]string{
	"id": "--id", "description": "--description", "complete": "--complete", "duration": "--duration",
	"timeout": "--duration", "start": "--start", "delay": "--delay", "repeats": "--repeats",
	"input": "--input", "difficulty": "--difficulty", "args": "--args", "env": "--env",
	"stdin": "--stdin", "memory": "--memory", "retries": "--retries", "priority": "--priority",
	"labels": "--label", "dirs": "--dir",
}

// submitFailed reports a rejected submission in terms of the command line.
func submitFailed(e *env, file, id string, err error) int {
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Field == "" {
		return failed(e, "submit", "", err)
	}
	msg := strings.TrimPrefix(ae.Message, ae.Field+": ")
	switch {
	case ae.Status == http.StatusConflict && ae.Field == "id":
		return e.errorf("submit: --id %s: a task with this id exists; choose another id, or leave --id out to get a new one", id)
	case ae.Field == "wasm" || ae.Field == "module":
		return e.errorf("submit: %s: %s", file, msg)
	case flagOf[ae.Field] != "":
		return e.errorf("submit: %s: %s", flagOf[ae.Field], msg)
	}
	return e.errorf("submit: %s", ae.Message)
}

// waitTask follows a submitted task to its end: progress on stderr, its
// output as it comes, then its runs. It exits 0 if the task succeeded.
func waitTask(ctx context.Context, e *env, c *client.Client, tv httpapi.TaskView, asJSON bool) int {
	p := newProgress(e.stderr)
	p.show(progressLine(tv))
	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pollProgress(pollCtx, c, tv.ID, p)
	}()
	end, err := c.Follow(ctx, tv.ID, func(le task.LogEntry) error {
		w := e.stdout
		if le.Stream == "stderr" || asJSON {
			w = e.stderr
		}
		return p.write(w, le.Data)
	})
	stop()
	wg.Wait()
	if err != nil {
		p.finish()
		switch {
		case errors.Is(err, context.Canceled):
			return e.errorf("submit: stopped waiting; task %s goes on (`shoal task %s` shows it, `shoal cancel %s` stops it)", tv.ID, tv.ID, tv.ID)
		case errors.Is(err, client.ErrStreamEnded):
			return e.errorf("submit: the gateway closed the log stream before task %s ended (did it stop?); `shoal task %s` shows where the task stands", tv.ID, tv.ID)
		}
		return failed(e, "submit", tv.ID, err)
	}
	p.show(progressLine(end))
	p.finish()
	if asJSON {
		_ = printJSON(e.stdout, end)
	} else {
		fmt.Fprintf(e.stdout, "task %s %s, completions %d\n", end.ID, end.Status, end.Completions)
		printRuns(e.stdout, end.Runs)
	}
	if end.Status != task.Succeeded {
		return 1
	}
	return 0
}

// pollInterval is how often --wait refreshes its progress line.
const pollInterval = 250 * time.Millisecond

// pollProgress refreshes the progress line until ctx ends. A failed poll
// is skipped: the log stream decides when waiting ends.
func pollProgress(ctx context.Context, c *client.Client, id string, p *progress) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if tv, err := c.Task(ctx, id); err == nil && ctx.Err() == nil {
			p.show(progressLine(tv))
		}
	}
}
