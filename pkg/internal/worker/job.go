package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/job"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// Job runs one attempt of a job: its steps, as package job's Plan orders
// them, in a fresh directory mounted at /shared for every step, which is
// removed when the job ends. The job holds one slot for its whole time;
// its steps run side by side only while their memory fits in what the job
// was placed with (JobRun.Reserve).
func (s *server) Job(ctx context.Context, call wire.Worker_job) error {
	call.Go()
	s.alive.Heard()
	args := call.Args()
	ws, err := args.Spec()
	if err != nil {
		return fmt.Errorf("read job spec: %w", err)
	}
	r, err := rpc.DecodeJobRun(ws)
	if err != nil {
		return fmt.Errorf("read job spec: %w", err)
	}
	if err := s.w.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-s.w.slots }()
	s.keep(capnp.Client(args.Modules()), capnp.Client(args.Logs()))
	end := s.w.runJob(ctx, r, args.Modules(), args.Logs(), args.Events())
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	jr, err := res.NewResult()
	if err != nil {
		return err
	}
	return rpc.EncodeJobEnd(jr, end)
}

// runJob runs r and returns how it ended; events hears of every step's
// start and end, then gets the artifacts.
func (w *Worker) runJob(ctx context.Context, r task.JobRun, mods wire.ModuleSource, sink wire.LogSink, events wire.JobEvents) task.JobEnd {
	w.active.Add(1)
	defer w.active.Add(-1)
	tell := newTeller(ctx, events)
	defer tell.close()
	dir, err := w.jobDir(r.Ref)
	if err != nil {
		return task.JobEnd{Status: api.Failed, FailedStep: -1, Error: err.Error()}
	}
	defer os.RemoveAll(dir)
	jctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	shared := []wasmrun.Dir{{Name: job.SharedDir, HostPath: dir}}

	plan := job.NewPlan(r.Plan())
	type ended struct {
		i   int
		out outcome
	}
	done := make(chan ended)
	// A step that sets no memory limit runs at the worker's, and counts
	// so; a job placed without memory has what one run has: its steps
	// then run one at a time.
	memOf := func(i int) uint64 {
		m := r.Steps[i].Spec.Memory
		if m == 0 || m > w.cfg.Runtime.MemoryLimit {
			return w.cfg.Runtime.MemoryLimit
		}
		return m
	}
	reserve := r.Reserve
	if reserve == 0 {
		reserve = w.cfg.Runtime.MemoryLimit
	}
	var used uint64 // memory of the steps running
	errs := make([]string, len(r.Steps))
	stop := jctx.Done() // nil once seen
	timedOut := false
	for {
		for _, i := range plan.Ready() {
			m := memOf(i)
			if plan.Running() > 0 && used+m > reserve {
				break // the rest waits for a step to end
			}
			plan.Start(i)
			used += m
			tell.step(i, api.Running, nil)
			go func() {
				out := w.executeIn(jctx, r.Steps[i].Spec, r.Steps[i].ID, shared, mods, sink)
				w.metrics.ran(out)
				done <- ended{i, out}
			}()
		}
		if plan.Running() == 0 {
			break
		}
		select {
		case e := <-done:
			used -= memOf(e.i)
			if e.out.OK {
				plan.End(e.i, true)
			} else {
				if timedOut {
					e.out.Error = fmt.Sprintf("the job's time limit (%s) ended it", r.Timeout)
				}
				plan.End(e.i, false)
				errs[e.i] = e.out.Error
			}
			rep := e.out.report()
			tell.step(e.i, plan.Status(e.i), &rep)
		case <-stop:
			stop = nil // the running steps end with jctx: wait for them
			if ctx.Err() != nil {
				plan.Stop(api.Canceled)
			} else {
				timedOut = true
				plan.Stop(api.Failed)
			}
		}
	}
	status, failed := plan.Finish()
	for i, st := range plan.Statuses() {
		if st == api.Skipped || (st == api.Canceled && errs[i] == "") {
			tell.step(i, st, nil)
		}
	}
	end := task.JobEnd{Status: status, FailedStep: failed}
	switch {
	case failed >= 0:
		end.Error = fmt.Sprintf("step %s failed: %s", r.Steps[failed].ID, stepError(errs[failed]))
	case status == api.Failed:
		end.Error = fmt.Sprintf("the job's time limit (%s) ended it", r.Timeout)
	}
	tell.flush()
	if status != api.Canceled {
		end.Files, end.FilesLeft, err = sendFiles(ctx, dir, r.MaxFiles, events)
		if err != nil && end.Error == "" {
			end.Error = "artifacts: " + err.Error()
		}
	}
	return end
}

func stepError(e string) string {
	if e == "" {
		return "it exited with a non-zero code"
	}
	return e
}

// jobDir makes the directory of a job's attempt, empty, under the
// worker's JobDir.
func (w *Worker) jobDir(ref task.RunRef) (string, error) {
	base := w.cfg.JobDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("job directory: %w", err)
	}
	dir, err := os.MkdirTemp(base, fmt.Sprintf("%s-%d-", ref.Task, ref.Attempt))
	if err != nil {
		return "", fmt.Errorf("job directory: %w", err)
	}
	return dir, nil
}

// teller sends a job's events to the gateway in order without making the
// job wait for the answers: capnp delivers the calls on one capability in
// the order they are made, and a goroutine collects their answers.
type teller struct {
	events  wire.JobEvents
	ctx     context.Context
	pending chan func()
	done    chan struct{}
}

func newTeller(ctx context.Context, events wire.JobEvents) *teller {
	t := &teller{events: events, ctx: ctx, pending: make(chan func(), 1024), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for wait := range t.pending {
			wait()
		}
	}()
	return t
}

// step tells the gateway step i is now status, with its result when it
// ended after running.
func (t *teller) step(i int, status api.Status, res *task.Outcome) {
	f, release := t.events.Step(t.ctx, func(p wire.JobEvents_step_Params) error {
		p.SetIndex(uint32(i))
		if err := p.SetStatus(string(status)); err != nil {
			return err
		}
		if res == nil {
			return nil
		}
		r, err := p.NewResult()
		if err != nil {
			return err
		}
		return rpc.EncodeRunResult(r, *res)
	})
	wait := func() {
		_, _ = f.Struct() // a lost event must not fail the job: its end tells
		release()
	}
	select {
	case t.pending <- wait:
	default: // a gateway this far behind: wait here rather than drop one
		wait()
	}
}

// flush waits until the gateway has answered every event told so far.
func (t *teller) flush() {
	ch := make(chan struct{})
	t.pending <- func() { close(ch) }
	select {
	case <-ch:
	case <-t.ctx.Done():
	}
}

func (t *teller) close() {
	close(t.pending)
	<-t.done
}

// clearJobDir removes what dir holds: the directories of jobs of an
// earlier life of the worker.
func clearJobDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// runWithFiles runs spec, a task's run with a directory of its own at
// /shared (task.Spec.Shared), then sends the files it left to files and
// removes the directory; a failure to send them fails the run.
func (w *Worker) runWithFiles(ctx context.Context, spec task.RunSpec, mods wire.ModuleSource, sink wire.LogSink, files wire.JobEvents, arrived time.Time, slot bool) outcome {
	dir, err := w.jobDir(spec.Ref)
	if err != nil {
		if slot {
			<-w.slots
		}
		return outcome{Result: wasmrun.Result{ExitCode: -1, Error: err.Error()}}
	}
	defer os.RemoveAll(dir)
	out := w.runIn(ctx, spec, []wasmrun.Dir{{Name: job.SharedDir, HostPath: dir}}, mods, sink, arrived, slot)
	if _, _, err := sendFiles(ctx, dir, spec.MaxFiles, files); err != nil && ctx.Err() == nil {
		out.OK = false
		out.Error = "artifacts: " + err.Error()
	}
	return out
}

// maxWarm bounds the modules of one Warm call.
const maxWarm = 64

// Warm fetches and compiles modules before any run needs them (a
// cluster's standby worker warmed with its application), and answers how
// many of them it holds compiled.
func (s *server) Warm(ctx context.Context, call wire.Worker_warm) error {
	call.Go()
	s.alive.Heard()
	args := call.Args()
	list, err := args.Sha256s()
	if err != nil {
		return err
	}
	if list.Len() > maxWarm {
		return fmt.Errorf("%d modules to warm: at most %d", list.Len(), maxWarm)
	}
	held := 0
	for i := range list.Len() {
		b, err := list.At(i)
		if err != nil || len(b) != len(wasmrun.Hash{}) {
			return fmt.Errorf("module %d to warm: not a sha256", i)
		}
		var h wasmrun.Hash
		copy(h[:], b)
		var out outcome
		if s.w.ensure(ctx, &out, h, args.Modules()) {
			held++
		} else {
			s.w.log.Warn("module not warmed", "module", h, "err", out.Error)
		}
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	res.SetCompiled(uint32(held))
	return nil
}

// inputsDir makes a fresh working directory for run s holding its inputs
// (a task's bundle), each fetched from the gateway by its sha256, checked,
// and written at its path; the time goes to out's fetch.
func (w *Worker) inputsDir(ctx context.Context, out *outcome, s task.RunSpec, mods wire.ModuleSource) (string, error) {
	dir, err := w.jobDir(s.Ref)
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	defer root.Close()
	start := time.Now()
	defer func() { out.fetch += time.Since(start) }()
	for _, in := range s.Inputs {
		h, err := wasmrun.ParseHash(in.SHA256)
		if err == nil {
			var data []byte
			if data, err = w.fetch.fetch(ctx, h, mods); err == nil {
				err = writeInput(root, in.Path, data)
			}
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%s: %w", in.Path, err)
		}
	}
	return dir, nil
}

// writeInput writes data at path (slash-separated) under root, making its
// directories.
func writeInput(root *os.Root, path string, data []byte) error {
	p := filepath.FromSlash(path)
	if d := filepath.Dir(p); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return root.WriteFile(p, data, 0o600)
}
