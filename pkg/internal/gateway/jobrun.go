package gateway

import (
	"context"
	"fmt"
	"maps"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// modulesOf are the modules a run of spec fetches: its own, or each of
// its steps' for a job (once per step: grants count them so).
func modulesOf(spec *task.Spec) []string {
	if spec.Job == nil {
		return []string{spec.Module}
	}
	ms := make([]string, len(spec.Job.Steps))
	for i, st := range spec.Job.Steps {
		ms[i] = st.Module
	}
	return ms
}

// jobLocked is the state of job id, made when it has none.
func (g *Gateway) jobLocked(id string, spec *task.Spec) *jobState {
	js := g.jobs[id]
	if js == nil {
		js = &jobState{callbackURL: spec.Job.CallbackURL}
		g.jobs[id] = js
	}
	return js
}

// startedJobLocked readies the state of d's job for the attempt d starts.
func (g *Gateway) startedJobLocked(d sched.Dispatch) {
	js := g.jobLocked(d.Ref.Task, &d.Spec)
	js.attempt, js.steps = d.Ref.Attempt, map[int]store.StepRecord{}
	if d.Ref.Attempt > 0 {
		g.sayLocked(d.Ref, 0, fmt.Sprintf("The job runs again from its first step, in a fresh /shared, on %s (attempt %d): the worker of its attempt before was lost\n",
			api.ShortPeer(string(d.Worker)), d.Ref.Attempt))
	}
}

// callJob runs the job attempt d on w: its steps' starts and ends, and
// its artifacts, come to a JobEvents of the call's own while it runs. The
// artifacts are stored before the outcome is, so a job that ended has
// them.
func (g *Gateway) callJob(ctx context.Context, d sched.Dispatch, s task.RunSpec, w wire.Worker, caps peerCaps) task.Outcome {
	jr := d.Spec.JobRun(d.Ref, g.cfg.TaskTimeout, g.cfg.MaxOutput, g.cfg.MaxJobFiles)
	jr.Timeout = s.Timeout
	g.mu.Lock()
	conn := g.inflight[d.Ref].conn
	g.mu.Unlock()
	ev := &jobEvents{g: g, ref: d.Ref, conn: conn, steps: len(jr.Steps)}
	events := wire.JobEvents_ServerToClient(ev)
	defer events.Release()
	sent := time.Now()
	f, release := w.Job(ctx, func(p wire.Worker_job_Params) error {
		if err := caps.give(p); err != nil {
			return err
		}
		if err := p.SetEvents(events.AddRef()); err != nil {
			return err
		}
		spec, err := p.NewSpec()
		if err != nil {
			return err
		}
		return rpc.EncodeJobRun(spec, jr)
	})
	defer release()
	// The steps' states are stored before the job's end is, however the
	// call ended (a canceled or lost job shows how far it got).
	defer g.storeSteps(d.Ref)
	res, err := f.Struct()
	if err != nil {
		return task.Outcome{Lost: true, Error: "worker call failed: " + err.Error()}
	}
	r, err := res.Result()
	if err != nil {
		return task.Outcome{Lost: true, Error: "bad answer from worker: " + err.Error()}
	}
	end, err := rpc.DecodeJobEnd(r)
	if err != nil {
		return task.Outcome{Lost: true, Error: "bad answer from worker: " + err.Error()}
	}
	o := task.Outcome{OK: end.Status == api.Succeeded, Error: end.Error}
	o.Timing.Placement = 0
	o.Timing.Exec = time.Since(sent)
	files := ev.take()
	g.mu.Lock()
	js := g.jobs[d.Ref.Task]
	if js != nil && js.attempt == d.Ref.Attempt {
		if rec, ok := js.steps[end.FailedStep]; ok {
			o.ExitCode = rec.ExitCode
		}
	}
	g.mu.Unlock()
	switch {
	case end.Status == api.Canceled:
		o.Error = "canceled"
	case end.FailedStep < 0 && !o.OK && o.ExitCode == 0:
		o.ExitCode = -1 // no step's exit: the job's time limit, or its directory
	}
	if end.FilesLeft > 0 {
		o.Result = fmt.Sprintf("%d files kept, %d left out (past --max-job-files %s, or not regular files)", end.Files, end.FilesLeft, api.FormatBytes(g.cfg.MaxJobFiles))
	}
	// A job's files are stored once, at its end, and replace any an
	// attempt before left (one cut short after its files were stored);
	// those of an attempt whose worker was dropped meanwhile are not its.
	if end.Status != api.Canceled && g.holds(d.Ref, conn) {
		if err := g.st.PutFiles(d.Ref.Task, files); err != nil {
			o.OK, o.ExitCode = false, -1
			o.Error = "store artifacts: " + storeErr(err).Error()
		}
	}
	return o
}

// jobEvents hears of one job attempt's steps and artifacts from the
// worker running it. Like the log sink, it takes word only while that
// attempt runs on that connection.
type jobEvents struct {
	g     *Gateway
	ref   sched.RunRef
	conn  *remoteWorker
	steps int // 0: the files of a task's run (Spec.Shared)

	mu    sync.Mutex
	files []store.Artifact // as they arrive
	size  uint64           // the size of the last of files, as its first piece said
	// declared are the sizes of files together: they are held to
	// MaxJobFiles before a byte of them is taken.
	declared uint64
	paths    map[string]bool
}

// take returns the artifacts received, once the call has been answered.
func (e *jobEvents) take() []store.Artifact {
	e.mu.Lock()
	defer e.mu.Unlock()
	files := e.files
	if n := len(files); n > 0 && uint64(len(files[n-1].Data)) != e.size {
		files = files[:n-1] // cut off: never a file with only part of its bytes
	}
	e.files, e.declared, e.paths = nil, 0, nil
	return files
}

// current checks that the attempt runs on this connection still.
func (e *jobEvents) current() error {
	e.g.mu.Lock()
	defer e.g.mu.Unlock()
	if f, ok := e.g.inflight[e.ref]; !ok || f.conn != e.conn {
		return fmt.Errorf("run %s: not under way on this worker", e.ref)
	}
	return nil
}

var _ wire.JobEvents_Server = (*jobEvents)(nil)

// stateLocked is the job's state if the attempt is current on this
// connection.
func (e *jobEvents) stateLocked() (*jobState, error) {
	f, ok := e.g.inflight[e.ref]
	js := e.g.jobs[e.ref.Task]
	if !ok || f.conn != e.conn || js == nil || js.attempt != e.ref.Attempt {
		return nil, fmt.Errorf("job %s attempt %d: not under way on this worker", e.ref.Task, e.ref.Attempt)
	}
	return js, nil
}

// Step records a step's start or end.
func (e *jobEvents) Step(_ context.Context, call wire.JobEvents_step) error {
	args := call.Args()
	i := int(args.Index())
	s, err := args.Status()
	if err != nil {
		return err
	}
	status := api.Status(s)
	if i >= e.steps || !validStepStatus(status) {
		return fmt.Errorf("%w: step %d of %d is %q", rpc.ErrMalformed, i, e.steps, s)
	}
	var out *task.Outcome
	if args.HasResult() {
		r, err := args.Result()
		if err != nil {
			return err
		}
		o, err := rpc.DecodeRunResult(r)
		if err != nil {
			return err
		}
		out = &o
	}
	now := time.Now()
	e.g.mu.Lock()
	js, err := e.stateLocked()
	if err != nil {
		e.g.mu.Unlock()
		return err
	}
	rec := js.steps[i]
	rec.Attempt, rec.Status = e.ref.Attempt, status
	if status == api.Running {
		rec.Started = now
	} else {
		rec.Ended = now
	}
	if out != nil {
		rec.ExitCode, rec.Error, rec.Fuel = out.ExitCode, clip(out.Error, maxStepError), out.Fuel
	}
	if status != api.Running {
		e.g.metrics.jobSteps.WithLabelValues(string(status)).Inc()
	}
	js.steps[i] = rec
	e.g.sched.Touch()
	e.g.notifyLocked()
	e.g.mu.Unlock()
	return nil
}

// storeSteps stores the steps of attempt ref of a job, once it has ended.
// Only then: while it runs, its steps' states are in memory (what GET
// /jobs/{id} shows), and an attempt cut short by a restart of the gateway
// runs again from its first step, so its steps' states would be of no
// use; stored as they change, they cost a commit each.
func (g *Gateway) storeSteps(ref sched.RunRef) {
	g.mu.Lock()
	var recs map[int]store.StepRecord
	if js := g.jobs[ref.Task]; js != nil && js.attempt == ref.Attempt {
		recs = maps.Clone(js.steps)
	}
	g.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	if err := g.st.SaveSteps(ref.Task, recs); err != nil {
		g.log.Warn("job steps not stored", "job", ref.Task, "err", err)
	}
}

func validStepStatus(s api.Status) bool {
	for _, v := range api.StepStatuses {
		if s == v && s != api.Queued {
			return true
		}
	}
	return false
}

// maxArtifactPath bounds an artifact's path, in bytes.
const maxArtifactPath = 1024

// File takes a piece of an artifact; the pieces of one file come in
// order, and the job's artifacts together stay within MaxJobFiles.
func (e *jobEvents) File(_ context.Context, call wire.JobEvents_file) error {
	args := call.Args()
	p, err := args.Path()
	if err != nil {
		return err
	}
	data, err := args.Data()
	if err != nil {
		return err
	}
	if !validArtifactPath(p) {
		return fmt.Errorf("%w: artifact path %q", rpc.ErrMalformed, p)
	}
	if err := e.current(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.files)
	if args.Offset() == 0 { // a new file: the one before must be whole
		switch size, limit := args.Size(), e.g.cfg.MaxJobFiles; {
		case n > 0 && uint64(len(e.files[n-1].Data)) != e.size:
			return fmt.Errorf("%w: artifact %s began before %s was whole", rpc.ErrMalformed, p, e.files[n-1].Path)
		case e.paths[p]:
			return fmt.Errorf("%w: artifact %s sent twice", rpc.ErrMalformed, p)
		case n >= api.MaxJobFileCount:
			return fmt.Errorf("artifacts of %s: more than %d files", e.ref.Task, api.MaxJobFileCount)
		case size > limit || e.declared+size > limit:
			return fmt.Errorf("artifacts of %s: over --max-job-files (%s)", e.ref.Task, api.FormatBytes(limit))
		}
		if e.paths == nil {
			e.paths = map[string]bool{}
		}
		e.paths[p] = true
		e.declared += args.Size()
		e.size = args.Size()
		// Its declared size is within the job's budget: the buffer is
		// bounded by --max-job-files whatever the worker says.
		e.files = append(e.files, store.Artifact{Path: p, Data: make([]byte, 0, args.Size())})
		n++
	} else if n == 0 || e.files[n-1].Path != p || uint64(len(e.files[n-1].Data)) != args.Offset() {
		return fmt.Errorf("%w: artifact %s: a piece at %d out of order", rpc.ErrMalformed, p, args.Offset())
	}
	a := &e.files[n-1]
	if uint64(len(a.Data)+len(data)) > e.size {
		return fmt.Errorf("%w: artifact %s: more than its size %d", rpc.ErrMalformed, p, e.size)
	}
	a.Data = append(a.Data, data...)
	e.g.metrics.artifactBytes.Add(float64(len(data)))
	return nil
}

// validArtifactPath: a relative, clean path of UTF-8 without NUL, as the
// worker writes one ("out/summary.json").
func validArtifactPath(p string) bool {
	return p != "" && len(p) <= maxArtifactPath && utf8.ValidString(p) && !strings.ContainsRune(p, 0) &&
		path.Clean(p) == p && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../")
}

// maxStepError bounds the error a step's record keeps: a worker says why
// a step failed in a line, not in megabytes.
const maxStepError = 4 << 10

// clip is s cut to at most n bytes, on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// holds reports whether attempt ref still runs on conn: its worker was
// not dropped (and the attempt given up) since it was dispatched there.
func (g *Gateway) holds(ref sched.RunRef, conn *remoteWorker) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.inflight[ref]
	return ok && f.conn == conn && g.workers[f.worker] == conn
}
