package worker

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// server is the Worker capability this worker offers to the gateway, one
// per gateway connection.
type server struct {
	w     *Worker
	alive *rpc.Liveness // the gateway's: a run call is a sign of life
	// lost is the connection's rpc.Conn.Lost; silenced is closed when
	// the worker hangs up on a gateway that stopped answering. Either
	// makes a run whose call ends go on, held (held.go).
	lost, silenced <-chan struct{}
	// kept holds a reference to the module source and the log sink the
	// gateway passes with every run, for the connection's life: while one
	// is held, a run's own references come and go without a release
	// message to the gateway each time.
	mu       sync.Mutex
	kept     [2]capnp.Client
	released bool // the session has ended: keep nothing more
	// answers are the outcomes of the last few seconds' runs (held.go).
	answers     []answer
	answerBytes int // of answers' results and errors (answerSize)
	// queue is held by a runs call while its runs take slots, so that the
	// runs of one call start before those of the next: the gateway sends
	// the next call while this one's last runs still go.
	queue sync.Mutex
}

// keep holds on to the capabilities of a run's call (see kept).
func (s *server) keep(caps ...capnp.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return
	}
	for i, c := range caps {
		if !s.kept[i].IsSame(c) {
			s.kept[i].Release()
			s.kept[i] = c.AddRef()
		}
	}
}

// gone reports whether the gateway of this connection is gone (see lost).
func (s *server) gone() bool {
	select {
	case <-s.lost:
		return true
	case <-s.silenced:
		return true
	default:
		return false
	}
}

// release drops what keep holds; the session calls it when it ends.
func (s *server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = true
	for i := range s.kept {
		s.kept[i].Release()
		s.kept[i] = capnp.Client{}
	}
}

var _ wire.Worker_Server = (*server)(nil)

// Deliver puts a message for a process running here into its mailbox,
// and answers once the mailbox has it (a full one holds the call).
func (s *server) Deliver(ctx context.Context, call wire.Worker_deliver) error {
	call.Go()
	s.alive.Heard()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	// The process may not have started yet: Table.Deliver waits for it.
	return s.w.deliver(ctx, call.Args(), res, false)
}

// Closed tells a process running here that a peer closed its side.
func (s *server) Closed(ctx context.Context, call wire.Worker_closed) error {
	call.Go()
	args := call.Args()
	from, err := args.From()
	if err != nil {
		return err
	}
	to, err := args.To()
	if err != nil {
		return err
	}
	return s.w.procs.Closed(ctx, proc.Key(from), proc.Key(to))
}

// Ended tells a process running here that one of its children ended.
func (s *server) Ended(_ context.Context, call wire.Worker_ended) error {
	args := call.Args()
	child, err := args.Child()
	if err != nil {
		return err
	}
	why, err := args.Error()
	if err != nil {
		return err
	}
	s.w.procs.Ended(proc.Key(child), proc.Exit{Code: args.Code(), Err: why})
	return nil
}

// Ping answers at once; the gateway uses it to notice a silent worker.
func (s *server) Ping(context.Context, wire.Worker_ping) error { return nil }

// Run executes one run attempt. Calls run concurrently (call.Go), bounded by
// the worker's slots.
func (s *server) Run(ctx context.Context, call wire.Worker_run) error {
	call.Go()
	arrived := time.Now()
	s.alive.Heard()
	args := call.Args()
	ws, err := args.Spec()
	if err != nil {
		return fmt.Errorf("read run spec: %w", err)
	}
	spec, err := rpc.DecodeRunSpec(ws)
	if err != nil {
		return fmt.Errorf("read run spec: %w", err)
	}
	// A spawned process takes no slot: the gateway reserved its cores
	// and memory, and its parent may hold a slot waiting for it.
	slot := spec.Proc == ""
	if slot {
		if err := s.w.acquire(ctx); err != nil {
			return err
		}
	}
	s.keep(capnp.Client(args.Modules()), capnp.Client(args.Logs()))
	var out outcome
	if spec.MaxFiles > 0 {
		out = s.w.runWithFiles(ctx, spec, args.Modules(), args.Logs(), args.Files(), arrived, slot)
	} else {
		out = s.w.detach(ctx, s, spec, args.Modules(), args.Logs(), func(ctx context.Context, mods wire.ModuleSource, sink wire.LogSink) outcome {
			return s.w.runAcquired(ctx, spec, mods, sink, arrived, slot)
		})
	}
	res, err := call.AllocResults()
	return reply(res, err, out)
}

// resultAnswer is the answer of a call that carries one run's result
// (Worker.run, Worker.adopt).
type resultAnswer interface {
	NewResult() (wire.RunResult, error)
}

// reply writes out as res's result, or returns err, res's allocation's.
func reply[R resultAnswer](res R, err error, out outcome) error {
	if err != nil {
		return err
	}
	r, err := res.NewResult()
	if err != nil {
		return err
	}
	return rpc.EncodeRunResult(r, out.report())
}

// maxRunsPerCall bounds the specs of one Worker.runs call.
const maxRunsPerCall = 4096

// Runs executes several run attempts and answers with all their results.
// They take the worker's slots in the order given, as they free up; the
// runs of other calls compete for the same slots.
func (s *server) Runs(ctx context.Context, call wire.Worker_runs) error {
	call.Go()
	arrived := time.Now()
	s.alive.Heard()
	args := call.Args()
	list, err := args.Specs()
	if err != nil {
		return fmt.Errorf("read run specs: %w", err)
	}
	n := list.Len()
	if n > maxRunsPerCall {
		return fmt.Errorf("%d runs in one call: at most %d", n, maxRunsPerCall)
	}
	s.keep(capnp.Client(args.Modules()), capnp.Client(args.Logs()))
	outs := make([]outcome, n)
	var wg sync.WaitGroup
	defer wg.Wait() // on an early return too: the runs use the call's message
	s.queue.Lock()
	unqueue := sync.OnceFunc(s.queue.Unlock)
	defer unqueue()
	for i := range n {
		spec, err := rpc.DecodeRunSpec(list.At(i))
		if err != nil {
			outs[i].ExitCode = -1 // never started: this run fails, not the call
			outs[i].Error = "bad run spec: " + err.Error()
			continue
		}
		if spec.MaxFiles > 0 { // its files have no way back in this call
			outs[i].ExitCode = -1
			outs[i].Error = "bad run spec: a run with files comes alone (Worker.run)"
			continue
		}
		slot := spec.Proc == ""
		if slot {
			if err := s.w.acquire(ctx); err != nil {
				return err // the call was canceled: the gateway counts its runs lost
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = s.w.detach(ctx, s, spec, args.Modules(), args.Logs(), func(ctx context.Context, mods wire.ModuleSource, sink wire.LogSink) outcome {
				return s.w.runAcquired(ctx, spec, mods, sink, arrived, slot)
			})
		}()
	}
	unqueue()
	wg.Wait()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	rs, err := res.NewResults(int32(n))
	if err != nil {
		return err
	}
	for i := range n {
		if err := rpc.EncodeRunResult(rs.At(i), outs[i].report()); err != nil {
			return err
		}
	}
	return nil
}

// acquire takes one of the worker's slots, or fails when ctx ends first.
func (w *Worker) acquire(ctx context.Context) error {
	select {
	case w.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runAcquired executes one run on a slot already taken, and gives the
// slot back. arrived is when its call came: the wait for the slot is
// reported with the run's phases.
func (w *Worker) runAcquired(ctx context.Context, spec task.RunSpec, mods wire.ModuleSource, sink wire.LogSink, arrived time.Time, slot bool) outcome {
	return w.runIn(ctx, spec, nil, mods, sink, arrived, slot)
}

// runIn is runAcquired with the directories shared mounted too.
func (w *Worker) runIn(ctx context.Context, spec task.RunSpec, shared []wasmrun.Dir, mods wire.ModuleSource, sink wire.LogSink, arrived time.Time, slot bool) outcome {
	if slot {
		defer func() { <-w.slots }()
	}
	w.active.Add(1)
	defer w.active.Add(-1)
	wait := time.Since(arrived)
	out := w.executeIn(ctx, spec, "", shared, mods, sink)
	out.wait = wait
	w.metrics.ran(out)
	return out
}

// outcome is a run's result plus the phases the worker measured.
type outcome struct {
	wasmrun.Result
	fetch, compile time.Duration
	wait           time.Duration // for a free slot
	module         moduleState   // as the run first found it
}

// execute runs the run attempt s, with the worker's directories it names.
func (w *Worker) execute(ctx context.Context, s task.RunSpec, mods wire.ModuleSource, sink wire.LogSink) outcome {
	return w.executeIn(ctx, s, "", nil, mods, sink)
}

// executeIn runs s, or step step of its job (jobs.go), with the worker's
// directories it names and the directories shared.
func (w *Worker) executeIn(ctx context.Context, s task.RunSpec, step string, shared []wasmrun.Dir, mods wire.ModuleSource, sink wire.LogSink) outcome {
	var out outcome
	self, parent := proc.Key(s.Proc), proc.Key(s.Parent)
	switch {
	case self == "" && step != "":
		self = proc.Key(s.Ref.String() + "/" + step) // steps may run side by side
	case self == "":
		self = proc.Key(s.Ref.String())
	}
	// Registered first, so that a message for it that came early fails
	// with the run's reason on every path, not at its sender's time limit.
	p, err := w.procs.Start(self, parent)
	if err != nil {
		out.ExitCode = -1
		out.Error = err.Error()
		return out
	}
	defer func() { p.End(exitOf(out.report())) }()
	spec, err := w.runnerSpec(s)
	if err != nil {
		out.ExitCode = -1 // the run never started
		out.Error = err.Error()
		return out
	}
	spec.Dirs = append(spec.Dirs, shared...)
	if len(s.Inputs) > 0 {
		dir, err := w.inputsDir(ctx, &out, s, mods)
		if err != nil {
			out.ExitCode = -1 // the run never started
			out.Error = "working directory: " + err.Error()
			return out
		}
		defer os.RemoveAll(dir)
		spec.Dirs = append(spec.Dirs, wasmrun.Dir{Name: wasmrun.Root, HostPath: dir})
	}
	if !w.ensure(ctx, &out, spec.Module, mods) {
		return out
	}
	logs := newForwarder(ctx, sink, s.Ref, w.cfg.LogBytes)
	logs.step = step
	spec.Processes = syncedHost{p.Host(), logs}
	spec.Stdout, spec.Stderr = logs.stream(wire.Stream_stdout), logs.stream(wire.Stream_stderr)
	out.Result = w.runner.Run(ctx, spec)
	if out.NotCompiled && w.ensure(ctx, &out, spec.Module, mods) {
		// The module cache evicted it between compile and run: once more.
		out.Result = w.runner.Run(ctx, spec)
	}
	logs.flush()
	return out
}

// ensure makes sure the runner holds module h compiled, fetching it from
// the gateway if need be; it records the time spent in out, or why it
// failed, and reports whether the module is ready.
func (w *Worker) ensure(ctx context.Context, out *outcome, h wasmrun.Hash, mods wire.ModuleSource) bool {
	if w.runner.Has(h) {
		if out.module == moduleUnknown {
			out.module = moduleHeld
		}
		return true
	}
	if out.module == moduleUnknown {
		out.module = moduleFetched
	}
	start := time.Now()
	wasm, err := w.fetch.fetch(ctx, h, mods)
	out.fetch += time.Since(start)
	if err != nil {
		out.Error = err.Error()
		return false
	}
	_, compile, err := w.runner.Compile(ctx, wasm)
	out.compile += compile
	if err != nil {
		out.Error = "compile: " + err.Error()
		return false
	}
	select {
	case w.warmed <- struct{}{}: // offer again, with the module among the cached
	default: // an offer is already due
	}
	return true
}

// fetchModule gets a module from the gateway and checks it is the one asked
// for: a worker never runs bytes whose hash it did not verify.
func fetchModule(ctx context.Context, mods wire.ModuleSource, h wasmrun.Hash) ([]byte, error) {
	f, release := mods.Get(ctx, func(p wire.ModuleSource_get_Params) error { return p.SetSha256(h[:]) })
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, fmt.Errorf("fetch module %s: %w", h, err)
	}
	b, err := res.Wasm()
	if err != nil {
		return nil, fmt.Errorf("fetch module %s: %w", h, err)
	}
	if sha256.Sum256(b) != h {
		return nil, fmt.Errorf("fetch module %s: the gateway sent bytes with another hash", h)
	}
	return append([]byte(nil), b...), nil // the message is released with the call
}
