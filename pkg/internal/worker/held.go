package worker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// heldFor is how long a worker keeps a run it went on with after losing
// its gateway (see detach) for a gateway to adopt: a replicated group
// elects a new leader in a second or two, a restarted gateway is back in
// a few. A run not adopted by then is stopped (the gateway runs it again).
const heldFor = time.Minute

// held are the runs this worker went on with after the connection of
// their call was lost (docs/HA.md, "Runs under way at a failover"): the
// next gateway it offers itself to adopts those it still wants done and
// gets their results, so a failover or a crashed gateway's restart runs
// nothing twice.
type held struct {
	mu   sync.Mutex
	runs map[task.RunRef]*heldRun
}

// heldRun is one run going on under its own context, not its call's.
type heldRun struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when the run has ended; out is set then
	out     outcome
	adopted bool        // a gateway's adopt call waits on it
	expiry  *time.Timer // stops it, unless adopted, heldFor after it was held
}

// hold keeps h, the run ref that lost its call, for a gateway to adopt.
func (hs *held) hold(ref task.RunRef, h *heldRun) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.runs == nil {
		hs.runs = make(map[task.RunRef]*heldRun)
	}
	if old := hs.runs[ref]; old != nil && old != h {
		old.stop()
	}
	hs.runs[ref] = h
	h.adopted = false
	h.expiry = time.AfterFunc(heldFor, func() { hs.expire(ref, h) })
}

// expire stops h if no gateway adopted it in time.
func (hs *held) expire(ref task.RunRef, h *heldRun) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.runs[ref] == h && !h.adopted {
		delete(hs.runs, ref)
		h.cancel()
	}
}

// stop ends h's run and its expiry.
func (h *heldRun) stop() {
	if h.expiry != nil {
		h.expiry.Stop()
	}
	h.cancel()
}

// refs lists the runs held and not adopted, for an offer.
func (hs *held) refs() []task.RunRef {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []task.RunRef
	for ref, h := range hs.runs {
		if !h.adopted {
			out = append(out, ref)
		}
	}
	slices.SortFunc(out, func(a, b task.RunRef) int {
		if a.Task != b.Task {
			if a.Task < b.Task {
				return -1
			}
			return 1
		}
		return a.Index - b.Index
	})
	return out
}

// count is the number of runs held and not adopted.
func (hs *held) count() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for _, h := range hs.runs {
		if !h.adopted {
			n++
		}
	}
	return n
}

// take gives ref's held run to the gateway that adopts it (keep), or
// stops and forgets it (not keep). It is nil when ref is not held.
func (hs *held) take(ref task.RunRef, keep bool) *heldRun {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.runs[ref]
	if h == nil {
		return nil
	}
	if !keep {
		delete(hs.runs, ref)
		h.stop()
		return h
	}
	h.adopted = true
	h.expiry.Stop()
	return h
}

// ended forgets ref's held run once its adopter has its result.
func (hs *held) ended(ref task.RunRef, h *heldRun) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.runs[ref] == h {
		delete(hs.runs, ref)
	}
}

// stopAll stops every held run: the worker is stopping.
func (hs *held) stopAll() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for ref, h := range hs.runs {
		delete(hs.runs, ref)
		h.stop()
	}
}

// detach runs run for the run attempt spec under a context of its own,
// and returns its outcome when it ends, or when ctx (its call's) ends
// first: if the call's gateway is gone (s.gone reports it) and the run
// needs nothing more of that gateway, it goes on and is held for the next
// gateway to adopt; otherwise it is stopped, as its call was canceled.
// The run gets its own references to the call's module source and log
// sink, which may outlive the call.
func (w *Worker) detach(ctx context.Context, s *server, spec task.RunSpec, mods wire.ModuleSource, sink wire.LogSink, run func(context.Context, wire.ModuleSource, wire.LogSink) outcome) outcome {
	if !holdable(spec) {
		return run(ctx, mods, sink)
	}
	mods, sink = mods.AddRef(), sink.AddRef()
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &heldRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer sink.Release()
		defer mods.Release()
		h.out = run(rctx, mods, sink)
		close(h.done)
	}()
	select {
	case <-h.done:
		cancel()
		s.answered(spec.Ref, h.out)
		return h.out
	case <-ctx.Done():
	}
	// Only a run whose module is compiled here and spawns or messages no
	// process: one still to fetch, or one whose processes reach others
	// through the gateway, would fail for want of it, and count as failed.
	if m, err := wasmrun.ParseHash(spec.Module); err == nil && s.gone() && w.runner.Standalone(m) {
		w.held.hold(spec.Ref, h)
		w.log.Info("gateway lost; the run goes on, held for the next gateway", "run", spec.Ref)
		return outcome{Result: wasmrun.Result{ExitCode: -1, Error: "the gateway's connection was lost; the run is held for the next one"}}
	}
	cancel()
	<-h.done
	return h.out
}

// holdable reports whether a run can go on without the gateway that
// started it: one with no process of its own (a spawned child talks to
// its gateway), no files to send back, no working directory to fetch.
func holdable(s task.RunSpec) bool {
	return s.Proc == "" && s.MaxFiles == 0 && len(s.Inputs) == 0
}

// Answers a worker gave just before it found its gateway gone may not
// have reached it (a partition is noticed only after the ping timeout):
// the runs of those that took long enough to be worth keeping are held,
// ended, as if their answers were not sent. The next gateway adopts each
// whose outcome its store does not have (the rest it turns down), so a
// long run that ended in the gap is not run again.
const (
	// answerWindow: answers given this long before the loss are held
	// (past the worker's ping interval and timeout, by default 1.25 s).
	answerWindow = 3 * time.Second
	// answerMinRun: runs shorter than this are cheaper to run again
	// than to keep.
	answerMinRun = 100 * time.Millisecond
	// maxAnswers bounds the answers a connection keeps, and
	// maxAnswerBytes the bytes of their results and errors. An answer of
	// more than maxAnswerSize is not kept: its run is run again after a
	// loss that it fell into (and counted once), rather than its result
	// held in memory for a loss that seldom comes.
	maxAnswers     = 256
	maxAnswerBytes = 1 << 20
	maxAnswerSize  = 64 << 10
)

// answer is an outcome a connection's gateway was sent.
type answer struct {
	ref task.RunRef
	out outcome
	at  time.Time
}

// answered keeps out, the outcome of ref just sent, for a while (see
// answerWindow).
func (s *server) answered(ref task.RunRef, out outcome) {
	size := answerSize(out)
	if out.Instantiate+out.Run < answerMinRun || size > maxAnswerSize {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.answers) && (now.Sub(s.answers[i].at) > answerWindow || len(s.answers)-i >= maxAnswers || s.answerBytes+size > maxAnswerBytes) {
		s.answerBytes -= answerSize(s.answers[i].out)
		i++
	}
	clear(s.answers[:i]) // the backing array keeps them otherwise
	s.answers = append(s.answers[i:], answer{ref: ref, out: out, at: now})
	s.answerBytes += size
}

// answerSize is what an answer kept holds in memory, roughly.
func answerSize(out outcome) int { return len(out.Output) + len(out.Error) }

// holdAnswers holds the answers of the last answerWindow: the session
// ends with its gateway gone.
func (s *server) holdAnswers() {
	s.mu.Lock()
	recent := s.answers
	s.answers, s.answerBytes = nil, 0
	s.mu.Unlock()
	for _, a := range recent {
		if time.Since(a.at) > answerWindow {
			continue
		}
		h := &heldRun{cancel: func() {}, done: make(chan struct{}), out: a.out}
		close(h.done)
		s.w.held.hold(a.ref, h)
		s.w.log.Info("gateway lost just after a run's answer; the outcome is held for the next gateway", "run", a.ref)
	}
}

// Adopt is a gateway's call for a run this worker holds (Offer.held).
func (s *server) Adopt(ctx context.Context, call wire.Worker_adopt) error {
	call.Go()
	s.alive.Heard()
	args := call.Args()
	ref, err := rpc.DecodeRunRef(args)
	if err != nil {
		return err
	}
	h := s.w.held.take(ref, args.Keep())
	if h == nil {
		return fmt.Errorf("run %s is not held here", ref)
	}
	if !args.Keep() {
		s.w.log.Info("a held run is not wanted: stopped", "run", ref)
		return nil
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		if s.gone() {
			// This gateway went away too: the run waits for the next one.
			s.w.held.hold(ref, h)
			return ctx.Err()
		}
		// The gateway canceled the call (its task canceled, the run
		// preempted or timed out): the run stops, as a run call's does.
		s.w.held.ended(ref, h)
		h.cancel()
		return ctx.Err()
	}
	s.w.held.ended(ref, h)
	s.w.log.Info("held run adopted and ended", "run", ref, "exit", h.out.ExitCode)
	res, err := call.AllocResults()
	return reply(res, err, h.out)
}
