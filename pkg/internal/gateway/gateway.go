package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/callback"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/version"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

var (
	// ErrNoModule: a task names a module the gateway does not hold.
	ErrNoModule = errors.New("module not found")
	// ErrNotGranted: a worker asked for a module of no run it holds.
	ErrNotGranted = errors.New("module not granted")
	// ErrClosed: the gateway is shutting down.
	ErrClosed = errors.New("gateway shutting down")
	// ErrQueueFull: taking the task would hold more than MaxQueued runs.
	ErrQueueFull = errors.New("queue full")
	// ErrOverQuota: taking the task would hold more runs not yet started
	// of its owner than the owner's Quota.MaxQueued.
	ErrOverQuota = errors.New("over quota")
)

// Gateway is a running gateway.
type Gateway struct {
	cfg  Config
	host host.Host
	log  *slog.Logger
	st   *store.Store
	logs *logbook
	wake chan struct{}

	metrics *metrics // in its own registry: see metrics.go

	// tasks counts the goroutines Run owns (dispatched calls and worker
	// watchers); Run waits for them before it returns.
	tasks sync.WaitGroup

	mu        sync.Mutex
	serving   bool            // Run has started: see Ready
	closed    bool            // Run has ended: offers are refused
	holding   []*remoteWorker // workers whose offer named runs they hold (adopt.go)
	draining  bool            // shutting down: no new dispatches or tasks
	changed   chan struct{}   // closed and replaced whenever a run ends
	sched     *sched.Scheduler
	workers   map[sched.WorkerID]*remoteWorker
	inflight  map[sched.RunRef]inflight
	procs     procState            // spawned processes and their trees (procs.go)
	jobs      map[string]*jobState // jobs under way (jobs.go)
	notes     jobNotes             // changes of jobs' statuses, for callbacks
	scaling   scaler               // the cluster's machines (scaler.go)
	callbacks *callback.Sender
	quotas    map[string]Quota
	// reserved counts the runs of submissions admitted but not yet queued
	// (being recorded), all and per owner, so that concurrent submissions
	// cannot together pass a queue limit.
	reserved    map[string]int
	reservedAll int
}

// remoteWorker is a worker capability received through the channel, and the
// connection it came over.
type remoteWorker struct {
	id     sched.WorkerID
	client wire.Worker
	stop   context.CancelFunc // stops its pinger
	hangup func()             // closes its connection
	sink   wire.LogSink       // where its runs' output goes (see logSink)
	source wire.ModuleSource  // where its runs' modules come from (see moduleSource)
	// grants counts, by module hash, the runs dispatched on this connection
	// whose outcome is not yet recorded: the modules its source serves.
	grants map[string]int
	// running counts the runs dispatched on this connection whose
	// outcome is not yet recorded.
	running int
	// alive decides when to ping it: a worker that answers runs needs no
	// ping (see watch).
	alive *rpc.Liveness
	// held are the runs its offer said it went on with after losing its
	// last gateway, for the next dispatch to adopt (adopt.go).
	held []task.RunRef
}

// New makes a gateway serving on h that keeps its state in st, and restores
// the tasks st holds. Run starts it. The caller closes st after Run.
func New(cfg Config, h host.Host, st *store.Store, logger *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sc := sched.DefaultConfig()
	sc.Retries, sc.ShortRun, sc.Depth = cfg.Retries, cfg.ShortRun, cfg.ShortDepth
	sc.KeepResults = st.KeepResults()
	g := &Gateway{
		cfg: cfg, host: h, log: logger.With("component", "gateway"),
		st: st, logs: newLogbook(cfg.LogBytes, st),
		wake:     make(chan struct{}, 1),
		changed:  make(chan struct{}),
		sched:    sched.New(sc),
		workers:  make(map[sched.WorkerID]*remoteWorker),
		inflight: make(map[sched.RunRef]inflight),
		jobs:     make(map[string]*jobState),
		notes:    jobNotes{wake: make(chan struct{}, 1)},
		scaling:  scaler{machines: map[string]*machine{}, wake: make(chan struct{}, 1)},
		procs:    newProcState(),
		reserved: make(map[string]int),
	}
	g.callbacks = callback.New(callback.DefaultConfig(), callback.NewClient(cfg.CallbackAllow), g.recordCallback, g.log)
	g.setQuotasLocked(cfg.Quotas)
	// Revisions start from the clock, so that a restarted gateway's do not
	// repeat its predecessor's (they would, counted from 0).
	g.sched.SetRevision(uint64(time.Now().UnixMicro()))
	g.metrics = newMetrics(g) // before restore, which may count unsaved runs
	if err := g.restore(); err != nil {
		return nil, err
	}
	return g, nil
}

// Run serves workers and dispatches runs until ctx ends.
func (g *Gateway) Run(ctx context.Context) error {
	rpc.Serve(g.host, func(connCtx context.Context, remote peer.ID, hangup func()) capnp.Client {
		return rpc.Export(wire.Gateway_NewServer(&gatewayServer{g: g, peer: remote, ctx: connCtx, hangup: hangup}))
	}, g.log)
	g.serve()
	if g.cfg.Retain > 0 {
		g.tasks.Add(1)
		go g.retain(ctx)
	}
	defer g.tasks.Wait()
	defer g.host.RemoveStreamHandler(rpc.Protocol)
	g.tasks.Add(1)
	go g.watchSpace(ctx)
	g.startCallbacks(ctx)
	if g.cfg.Scale.Backend != nil {
		g.tasks.Add(1)
		go g.runScaler(ctx)
	}

	// Calls outlive ctx by up to the grace period: see drain.
	calls, stopCalls := context.WithCancel(context.Background())
	defer stopCalls()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := g.dispatch(calls)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			g.drain(stopCalls)
			g.shutdown()
			return nil
		case <-g.wake:
		case <-timer.C:
		}
	}
}

// kick makes the loop look for work now.
func (g *Gateway) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// dispatch starts every run the scheduler places now and returns when the
// next scheduled run becomes due (zero if none).
func (g *Gateway) dispatch(ctx context.Context) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining || g.st.Full() != nil {
		return time.Time{} // a full disk: watchSpace kicks when there is space
	}
	g.adoptLocked(ctx)
	short := make(map[sched.WorkerID][]sched.Dispatch)
	defer g.scaleIfWaitingLocked()
	for _, d := range g.sched.Assign(time.Now()) {
		if d.Short {
			short[d.Worker] = append(short[d.Worker], d)
			continue
		}
		g.start(ctx, []sched.Dispatch{d})
	}
	// Short runs go several to a call. To a worker with no call under way,
	// in two calls when there are enough: it is still busy with the
	// second while the first's answer comes back and its replacements go
	// out, and from then on each answer is followed by one new call.
	for id, ds := range short {
		parts := [][]sched.Dispatch{ds}
		if g.workers[id].running == 0 && len(ds) >= 4 {
			half := (len(ds) + 1) / 2
			parts = [][]sched.Dispatch{ds[:half:half], ds[half:]}
		}
		for _, p := range parts {
			for _, c := range g.calls(p) {
				g.start(ctx, c)
			}
		}
	}
	next, _ := g.sched.NextDue()
	return next
}

// Bounds of one Worker.runs call. go-capnp refuses a message over 64 MiB
// and drops the connection with it, so a call and its answer stay well
// under that (callBytes: an estimate of the specs, and of the results at
// their largest); a worker takes at most 4096 runs a call.
const (
	callRuns  = 1024
	callBytes = 32 << 20
)

// calls splits short runs for one worker into calls within callRuns and
// callBytes; a run too large to share a call goes alone.
func (g *Gateway) calls(ds []sched.Dispatch) [][]sched.Dispatch {
	var out [][]sched.Dispatch
	start, size := 0, 0
	for i, d := range ds {
		n := runBytes(d.Spec, g.cfg.MaxOutput)
		if i > start && (i-start == callRuns || size+n > callBytes) {
			out = append(out, ds[start:i:i])
			start, size = i, 0
		}
		size += n
	}
	return append(out, ds[start:])
}

// runBytes estimates what one run adds to a call and to its answer.
func runBytes(sp task.Spec, maxOutput int) int {
	n := 1024 + len(sp.ID) + len(sp.Stdin) + maxOutput
	for _, x := range sp.Args {
		n += len(x) + 8
	}
	for _, x := range sp.Env {
		n += len(x) + 8
	}
	return n
}

// start calls the worker of ds (all for one worker) for them, in a
// goroutine that records their outcomes.
func (g *Gateway) start(ctx context.Context, ds []sched.Dispatch) {
	w := g.workers[ds[0].Worker]
	callCtx, cancel := context.WithCancel(ctx)
	now := time.Now()
	specs := make([]task.RunSpec, len(ds))
	for i, d := range ds {
		specs[i] = g.runSpec(d)
		deadline := now.Add(specs[i].Timeout)
		g.inflight[d.Ref] = inflight{worker: d.Worker, conn: w, cancel: cancel, shared: len(ds) > 1, started: now, deadline: deadline}
		for _, m := range modulesOf(&d.Spec) {
			w.grants[m]++
		}
		if d.Spec.Bundle != "" {
			specs[i].Inputs = g.inputsLocked(d.Spec.Bundle)
			for _, in := range specs[i].Inputs { // its source serves them for the run
				w.grants[in.SHA256]++
			}
			f := g.inflight[d.Ref]
			f.inputs = specs[i].Inputs
			g.inflight[d.Ref] = f
		}
		if d.Spec.Job != nil {
			g.startedJobLocked(d)
			g.jobChangedLocked(d.Ref.Task)
		}
		self, parent := g.placedLocked(d, w, deadline)
		specs[i].Proc, specs[i].Parent = string(self), string(parent)
		g.reservedLocked(d, specs[i].Proc != "")
	}
	ahead := w.running // runs the worker may execute before these
	w.running += len(ds)
	g.tasks.Add(1)
	go g.execute(callCtx, cancel, ds, specs, ahead, w.client.AddRef(), w.peerCaps())
}

// drain stops dispatching and gives running runs up to the grace period
// to finish and be recorded; then it cancels the rest (a restarted gateway
// queues them again).
func (g *Gateway) drain(stopCalls context.CancelFunc) {
	g.mu.Lock()
	g.draining = true
	g.mu.Unlock()
	grace := time.NewTimer(g.cfg.Grace)
	defer grace.Stop()
	for {
		g.mu.Lock()
		n, changed := len(g.inflight), g.changed
		g.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-grace.C:
			g.log.Warn("grace period over; stopping running runs", "running", n)
			stopCalls()
			return
		}
	}
}

// shutdown refuses further offers and hangs up on every worker; the
// dispatched calls end with the loop's context.
func (g *Gateway) shutdown() {
	g.mu.Lock()
	defer g.unlock()
	g.closed = true
	for id, w := range g.workers {
		w.stop()
		w.client.Release()
		w.releaseCaps()
		go w.hangup()
		delete(g.workers, id)
	}
}

// Submit validates spec, gives it an ID when it has none, records it
// durably, and queues it. Past the queue limits it returns ErrQueueFull
// (the gateway's MaxQueued) or ErrOverQuota (spec.Owner's MaxQueued); the
// caller vouches for spec.Owner.
func (g *Gateway) Submit(spec task.Spec) (task.Task, error) {
	return g.SubmitUpload(context.Background(), spec, nil)
}

// SubmitUpload is Submit of a task whose module comes with it: the module
// is hashed once, becomes spec.Module, and is checked and stored only when
// the task itself is valid, so a refused submission leaves nothing behind.
// A nil wasm is Submit.
func (g *Gateway) SubmitUpload(ctx context.Context, spec task.Spec, wasm []byte) (task.Task, error) {
	if wasm != nil {
		spec.Module = wasmrun.HashOf(wasm).String()
	}
	specs := []task.Spec{spec}
	ids, _, err := g.prepare(specs, wasm != nil)
	if err != nil {
		return task.Task{}, err
	}
	if wasm != nil {
		if err := g.putModule(ctx, spec.Module, wasm); err != nil {
			return task.Task{}, err
		}
	}
	snaps, _, err := g.admit(specs, ids)
	if err != nil {
		return task.Task{}, err
	}
	ts, err := g.compose(snaps, api.DefaultRuns, 0)
	if err != nil {
		return task.Task{}, err
	}
	if len(ts) == 0 { // purged as soon as it was taken
		return task.Task{}, fmt.Errorf("%w: %s", sched.ErrNotFound, spec.ID)
	}
	return ts[0], nil
}

// ItemError is the error of one task of a batch: no task of the batch was
// taken.
type ItemError struct {
	Index int // in the batch
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("task %d of the batch: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// SubmitBatch is Submit for many tasks at once, all or none: every task is
// checked, all are recorded in one transaction, and all are queued
// together. An error about one task is an *ItemError naming it. It
// returns each task's id and status as it was queued.
func (g *Gateway) SubmitBatch(specs []task.Spec) ([]sched.Snapshot, error) {
	specs = slices.Clone(specs)
	ids, i, err := g.prepare(specs, false)
	if err == nil {
		var ts []sched.Snapshot
		if ts, i, err = g.admit(specs, ids); err == nil {
			return ts, nil
		}
	}
	if i >= 0 {
		return nil, &ItemError{Index: i, Err: err}
	}
	return nil, err
}

// prepare completes specs in place (an ID, the gateway's retries) and
// validates each, the one place a submitted task is: an error about one
// spec comes with its index. Unless uploaded (the module comes with the
// task), each spec's module must be stored already. It returns the index
// of each ID.
func (g *Gateway) prepare(specs []task.Spec, uploaded bool) (map[string]int, int, error) {
	ids := make(map[string]int, len(specs))
	for i := range specs {
		spec := &specs[i]
		if spec.ID == "" {
			spec.ID = newID()
		}
		if spec.Retries == nil {
			r := g.cfg.Retries
			spec.Retries = &r
		}
		if spec.Cores == 0 {
			spec.Cores = g.cfg.TaskCores
		}
		if spec.Memory == 0 {
			spec.Memory = g.cfg.TaskMemory
		}
		if err := spec.Validate(); err != nil {
			return nil, i, err
		}
		if !uploaded && !g.st.HasModule(spec.Module) {
			return nil, i, fmt.Errorf("%w: %s", ErrNoModule, spec.Module)
		}
		if spec.Bundle != "" {
			if _, err := g.st.Bundle(spec.Bundle); err != nil {
				return nil, i, task.Invalid("bundle", "no files are deployed under %q: PUT /bundles/%s (shoal cluster deploy --directory)", spec.Bundle, spec.Bundle)
			}
		}
		if _, dup := ids[spec.ID]; dup {
			return nil, i, fmt.Errorf("%w: %s is given twice in the batch", sched.ErrExists, spec.ID)
		}
		ids[spec.ID] = i
	}
	return ids, -1, nil
}

// admit records prepared specs durably and queues them, all or none; an
// error about one spec comes with its index, others with -1.
func (g *Gateway) admit(specs []task.Spec, ids map[string]int) ([]sched.Snapshot, int, error) {
	g.mu.Lock()
	if g.draining || g.closed {
		g.mu.Unlock()
		return nil, -1, ErrClosed
	}
	for i := range specs {
		if err := g.admitLocked(&specs[i]); err != nil {
			for j := range i {
				g.unreserveLocked(&specs[j])
			}
			g.mu.Unlock()
			if len(specs) == 1 {
				return nil, -1, err
			}
			return nil, -1, fmt.Errorf("%w (the batch's %d tasks are taken all or none)", err, len(specs))
		}
	}
	g.mu.Unlock()
	// Durable before they are queued (and before the client hears 201),
	// but outside the lock: the commit must not stall dispatching.
	now := time.Now()
	records := make([]task.Task, len(specs))
	for i, spec := range specs {
		records[i] = task.Task{Spec: spec, Created: now}
	}
	err := g.st.CreateTasks(records)
	g.mu.Lock()
	defer g.unlock()
	for i := range specs {
		g.unreserveLocked(&specs[i])
	}
	if err != nil {
		return nil, indexOf(err, ids), storeErr(err)
	}
	out := make([]sched.Snapshot, len(specs))
	for i, spec := range specs {
		if out[i], err = g.sched.Submit(now, spec); err != nil {
			// The store refused taken ids, and the scheduler holds no task
			// the store lacks: this is a bug, and the tasks queued so far
			// stay (they are stored).
			g.kick()
			return nil, i, err
		}
		g.metrics.submitted.Inc()
		if spec.Job != nil && spec.Job.CallbackURL != "" {
			g.jobChangedLocked(spec.ID) // queued: told before any dispatch moves it on
		}
	}
	g.kick()
	return out, -1, nil
}

// indexOf finds which task of a batch a store error names, or -1.
func indexOf(err error, ids map[string]int) int {
	var taken *store.TakenError
	if len(ids) > 1 && errors.As(err, &taken) {
		if i, ok := ids[taken.ID]; ok {
			return i
		}
	}
	return -1
}

func newID() string { return randomID("t-") }

// newJobID names a job submitted without an id.
func newJobID() string { return randomID("j-") }

func randomID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PutModule checks that wasm is a module Shoal can run and stores it; it
// returns the module's sha256.
func (g *Gateway) PutModule(ctx context.Context, wasm []byte) (string, error) {
	h := wasmrun.HashOf(wasm).String()
	return h, g.putModule(ctx, h, wasm)
}

// putModule checks wasm and stores it under its hex sha256 h.
func (g *Gateway) putModule(ctx context.Context, h string, wasm []byte) error {
	if _, err := wasmrun.Inspect(ctx, wasm); err != nil {
		return task.Invalid("wasm", "%v", err)
	}
	if err := g.st.PutModule(h, wasm); err != nil {
		return fmt.Errorf("store module: %w", err)
	}
	return nil
}

// HasModule reports whether the gateway holds the module with hex sha256 h.
func (g *Gateway) HasModule(h string) bool { return g.st.HasModule(h) }

// Task returns the task with that id, with all its runs.
func (g *Gateway) Task(id string) (task.Task, error) {
	t, _, err := g.TaskRuns(id, -1)
	return t, err
}

// Status returns the status of the task with that id.
func (g *Gateway) Status(id string) (task.Status, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, ok := g.sched.Status(id)
	if !ok {
		return "", fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return st, nil
}

// Owner returns the owner of the task with that id.
func (g *Gateway) Owner(id string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	owner, ok := g.sched.Owner(id)
	if !ok {
		return "", fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	return owner, nil
}

// Wait returns task id once it has ended, or as it is when ctx ends.
func (g *Gateway) Wait(ctx context.Context, id string) (task.Task, error) {
	return g.WaitRuns(ctx, id, -1)
}

// WaitRuns is Wait for a task with its latest n runs (all when n < 0).
func (g *Gateway) WaitRuns(ctx context.Context, id string, n int) (task.Task, error) {
	result := func() (task.Task, error) {
		t, _, err := g.TaskRuns(id, n)
		return t, err
	}
	for {
		g.mu.Lock()
		st, ok := g.sched.Status(id) // not a copy of every run at every change
		changed := g.changed
		g.mu.Unlock()
		if !ok {
			return task.Task{}, fmt.Errorf("%w: %s", sched.ErrNotFound, id)
		}
		if st.Done() {
			return result()
		}
		select {
		case <-ctx.Done():
			return result()
		case <-changed:
		}
	}
}

// TaskPage reads one page of the task list (see sched.Page), each task
// with its latest runs runs and its results clipped to ListResultBytes,
// and returns the sequence the next page starts after (0: none) and the
// revision the page is of. It holds the dispatch lock while it copies
// what the scheduler has of the page's tasks only, whatever the number of
// tasks, and reads the rest from the store after.
func (g *Gateway) TaskPage(q sched.PageQuery, runs int) (page []task.Task, next, rev uint64, err error) {
	g.mu.Lock()
	snaps, next := g.sched.Page(q)
	rev = g.sched.Revision()
	g.mu.Unlock()
	page, err = g.compose(snaps, runs, ListResultBytes)
	return page, next, rev, err
}

// TaskRuns returns the task with that id holding its latest n runs (all
// when n < 0), and the revision it is of.
func (g *Gateway) TaskRuns(id string, n int) (task.Task, uint64, error) {
	g.mu.Lock()
	snap, ok := g.sched.Task(id)
	rev := g.sched.Revision()
	g.mu.Unlock()
	if !ok {
		return task.Task{}, 0, fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	ts, err := g.compose([]sched.Snapshot{snap}, n, 0)
	if err != nil {
		return task.Task{}, 0, err
	}
	if len(ts) == 0 {
		return task.Task{}, 0, fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	}
	ts[0].Processes = g.processesOf(id)
	return ts[0], rev, nil
}

// Revision is a number that changes whenever a task does (see
// sched.Scheduler.Revision); it takes no lock, so a reader asks it to learn
// whether anything changed without waiting for dispatching.
func (g *Gateway) Revision() uint64 { return g.sched.Revision() }

// Cancel records a task canceled, then cancels it and stops its running
// attempts. The record comes first, so that a cancel the store refuses
// (ErrNoSpace) changes nothing the API shows. A task that ends between
// the two stays as it ended here, and is canceled after a restart.
func (g *Gateway) Cancel(id string) (task.Task, error) {
	if err := g.cancel(id); err != nil {
		return task.Task{}, err
	}
	t, _, err := g.TaskRuns(id, api.DefaultRuns)
	return t, err
}

func (g *Gateway) cancel(id string) error {
	now := time.Now()
	g.mu.Lock()
	st, ok := g.sched.Status(id)
	g.mu.Unlock()
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", sched.ErrNotFound, id)
	case st.Done():
		return fmt.Errorf("%w: %s is %s", sched.ErrDone, id, st)
	}
	// Recorded first: a cancel the store refuses (a full disk) changes
	// nothing the API shows.
	if err := g.st.CancelTask(id, now, nil); err != nil {
		return fmt.Errorf("record cancel: %w", storeErr(err))
	}
	g.mu.Lock()
	running, err := g.sched.Cancel(now, id)
	if err != nil {
		g.mu.Unlock()
		return err
	}
	g.jobChangedLocked(id)
	if js := g.jobs[id]; js != nil {
		if _, under := g.inflight[sched.RunRef{Task: id, Attempt: js.attempt}]; !under {
			delete(g.jobs, id) // its run is not under way: nothing more of it comes
		}
	}
	for _, d := range running {
		if f, ok := g.inflight[d.Ref]; ok && !f.shared {
			f.cancel()
		}
	}
	g.logs.close(id)
	g.notifyLocked()
	g.unlock()
	return nil
}

// Workers lists the workers in the pool.
func (g *Gateway) Workers() []sched.WorkerInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sched.Workers()
}

// Counts summarizes the scheduler's state.
func (g *Gateway) Counts() sched.Counts {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sched.Counts()
}

// Logs returns the output of task id kept so far, after seq, and whether
// the log is complete.
func (g *Gateway) Logs(id string, seq uint64) ([]task.LogEntry, bool, error) {
	if err := g.loadLog(id); err != nil {
		return nil, false, err
	}
	entries, done, _, in := g.logs.since(id, seq)
	if !in { // evicted since load: it was complete
		g.logs.load(id, true)
		entries, done, _, _ = g.logs.since(id, seq)
	}
	return entries, done, nil
}

// loadLog makes task id's log ready to read: from the store when it is
// not in memory, and complete when the task has ended, even if it ended
// while the log was read (its close then found no log to close).
func (g *Gateway) loadLog(id string) error {
	st, err := g.Status(id)
	if err != nil {
		return err
	}
	g.logs.load(id, st.Done())
	if !st.Done() {
		g.mu.Lock()
		done := g.sched.Done(id)
		g.mu.Unlock()
		if done {
			g.logs.close(id)
		}
	}
	return nil
}

// Follow calls fn for each log entry of task id, existing and new, until the
// task ends, ctx ends or fn fails.
func (g *Gateway) Follow(ctx context.Context, id string, fn func(task.LogEntry) error) error {
	if err := g.loadLog(id); err != nil {
		return err
	}
	return g.logs.follow(ctx, id, fn)
}

// TaskTimeout is the time limit of a run whose task sets none.
func (g *Gateway) TaskTimeout() time.Duration { return g.cfg.TaskTimeout }

// Info returns the gateway's identity and addresses.
func (g *Gateway) Info() api.Info {
	info := api.Info{PeerID: g.host.ID().String(), Addrs: addrStrings(g.host.Addrs(), g.host.ID()), Version: version.Version}
	if g.cfg.Raft != nil {
		info.Raft = g.cfg.Raft()
	}
	return info
}

func addrStrings(addrs []ma.Multiaddr, id peer.ID) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String() + "/p2p/" + id.String()
	}
	return out
}

// notifyLocked wakes every Wait; g.mu is held.
func (g *Gateway) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// StoreStats counts what the gateway's store holds.
func (g *Gateway) StoreStats() store.Stats { return g.st.Stats() }
