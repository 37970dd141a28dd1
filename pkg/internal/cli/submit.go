package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

const submitUsage = "submit FILE.wasm [flags]"

// submitFlags are the flags of `shoal submit`: one per field of the task
// request (api.TaskFields, whose table names them and checks their
// values), plus --stdin FILE, --wait and --json.
type submitFlags struct {
	vals  map[string][]string // by field name, as given
	stdin string              // a file's path
	wait  bool
	json  bool
	raw   bool
}

func (f *submitFlags) register(fs *flag.FlagSet) {
	f.registerFields(fs, nil)
	fs.BoolVar(&f.wait, "wait", false, "wait for the task to end: show progress, stream its output, print its runs; exit 1 unless it succeeded")
	fs.BoolVar(&f.raw, "raw", false, "with --wait: pass the module's output to the terminal as it is (default: control characters shown escaped on a terminal)")
	fs.BoolVar(&f.json, "json", false, "print the task as JSON (with --wait: the ended task; the module's output then goes to stderr)")
}

// registerFields registers a flag for each field of the task request that
// has one (--stdin names a file), except the fields omit names.
func (f *submitFlags) registerFields(fs *flag.FlagSet, omit map[string]bool) {
	f.vals = map[string][]string{}
	for i := range api.TaskFields {
		fd := &api.TaskFields[i]
		switch {
		case fd.Flag == "-" || omit[fd.Name]:
		case fd.Name == "stdin":
			fs.StringVar(&f.stdin, "stdin", "", "file fed to the module's stdin")
		default:
			fs.Var(&fieldFlag{field: fd, vals: f.vals}, flagName(fd), fd.Usage)
		}
	}
}

// flagName is the flag of a task request field.
func flagName(f *api.Field) string {
	if f.Flag != "" {
		return f.Flag
	}
	return f.Name
}

// fieldFlag is the flag of one task request field: it checks each value
// as the gateway would, and keeps it as text for api.ParseTask.
type fieldFlag struct {
	field *api.Field
	vals  map[string][]string
}

func (v *fieldFlag) String() string {
	if v.field == nil {
		return ""
	}
	return strings.Join(v.vals[v.field.Name], ",")
}

// IsBoolFlag makes a flag of a KindBool field take no value: --shared.
func (v *fieldFlag) IsBoolFlag() bool { return v.field != nil && v.field.Kind == api.KindBool }

func (v *fieldFlag) Set(x string) error {
	name := v.field.Name
	if v.field.Kind == api.KindArgs { // each --args is one argument, never JSON
		enc, _ := json.Marshal(append(decodeArgs(v.vals[name]), x))
		v.vals[name] = []string{string(enc)}
		return nil
	}
	vals := []string{x}
	if v.field.Repeatable {
		vals = append(v.vals[name], x)
	}
	if _, err := api.ParseTask(map[string][]string{name: vals}, nil); err != nil {
		return errors.New(fieldMessage(err, name))
	}
	v.vals[name] = vals
	return nil
}

// decodeArgs reads back the JSON array fieldFlag keeps --args in.
func decodeArgs(vals []string) []string {
	var args []string
	if len(vals) == 1 {
		_ = json.Unmarshal([]byte(vals[0]), &args) // written by Set
	}
	return args
}

// fieldMessage is err's message without the field's name in front.
func fieldMessage(err error, field string) string {
	return strings.TrimPrefix(err.Error(), field+": ")
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
	mod, err := readModule(pos[0])
	if err != nil {
		return e.errorf("submit: %v", err)
	}
	s, err := f.submission(mod)
	if err != nil {
		return e.errorf("submit: %v", err)
	}
	c, code := connect(e, "submit", gw)
	if c == nil {
		return code
	}
	tv, err := c.Submit(ctx, s)
	if err != nil {
		return submitFailed(e, "submit", pos[0], s.ID, err)
	}
	switch {
	case f.wait:
		fmt.Fprintf(e.stderr, "%s %s\n", tv.ID, tv.Status)
		return waitTask(ctx, e, c, tv, f.json, f.raw)
	case f.json:
		_ = printJSON(e.stdout, tv)
	default:
		fmt.Fprintf(e.stdout, "%s %s\n", tv.ID, tv.Status)
	}
	return 0
}

// submission is the task request the flags ask for, with module wasm.
func (f *submitFlags) submission(wasm []byte) (client.Submission, error) {
	files := map[string][]byte{"wasm": wasm}
	if f.stdin != "" {
		b, err := readInput(f.stdin)
		if err != nil {
			return client.Submission{}, fmt.Errorf("--stdin %v", err)
		}
		files["stdin"] = b
	}
	return api.ParseTask(f.vals, files)
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

// submitFailed reports a rejected submission in terms of the command line.
func submitFailed(e *env, cmd, file, id string, err error) int {
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Field == "" {
		return failed(e, cmd, "", err)
	}
	msg := fieldMessage(ae, ae.Field)
	fd, known := api.TaskField(ae.Field)
	switch {
	case errors.Is(err, api.ErrConflict) && ae.Field == "id":
		return e.errorf("%s: --id %s: a task with this id exists; choose another id, or leave --id out to get a new one", cmd, id)
	case ae.Field == "wasm" || ae.Field == "module":
		return e.errorf("%s: %s: %s", cmd, file, msg)
	case (ae.Field == "timeout" || ae.Field == "duration") && cmd == "run":
		return e.errorf("%s: --timeout: %s", cmd, msg)
	case ae.Field == "timeout":
		return e.errorf("%s: --duration: %s", cmd, msg)
	case known && fd.Flag != "-":
		return e.errorf("%s: --%s: %s", cmd, flagName(fd), msg)
	}
	return e.errorf("%s: %s", cmd, ae.Message)
}

// waitTask follows a submitted task to its end: progress on stderr, its
// output as it comes, then its runs. It exits 0 if the task succeeded.
func waitTask(ctx context.Context, e *env, c *client.Client, tv api.Task, asJSON, raw bool) int {
	p := newProgress(e.stderr)
	p.show(progressLine(tv))
	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pollProgress(pollCtx, c, tv.ID, p)
	}()
	stdout, stderr := terminalOutput(e.stdout, raw), terminalOutput(e.stderr, raw)
	end, err := c.Follow(ctx, tv.ID, func(le api.LogEntry) error {
		w := stdout
		if le.Stream == "stderr" || asJSON {
			w = stderr
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
	if end.Status != api.Succeeded {
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
