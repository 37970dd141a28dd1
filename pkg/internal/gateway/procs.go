package gateway

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// The gateway's half of processes (docs/PROCESSES.md): it places spawned
// processes like runs (sched.SubmitProcess), keeps each run's process
// tree, relays messages between processes on different workers, tells a
// parent's worker when a child ends, and ends a process's children when
// it ends. Trees are kept in memory only: a process lives no longer than
// its root run, which a gateway restart runs again from its start.

// process is one process of a tree: the root (a task's run that spawned)
// or a spawned child.
type process struct {
	key    proc.Key
	pid    int
	parent *process // nil for a root
	tree   *tree
	ref    sched.RunRef // the root's run; a child's is its own one-run task
	module string
	worker sched.WorkerID
	conn   *remoteWorker // where it runs; nil until placed
	// placed is closed once conn is set or the process has ended: a
	// message waits for it.
	placed   chan struct{}
	status   task.Status
	cores    api.Millicores
	memory   uint64
	deadline time.Time // the end of its time limit
	started  time.Time
	ended    time.Time
	exit     proc.Exit
	done     bool
	children []*process
}

// tree is the process tree of one run attempt.
type tree struct {
	root *process
	// procs are its processes by pid: the live ones and the first
	// keptProcesses that ended (see keepLocked).
	procs []*process
	owner string
	next  int // the last pid given
	live  int // spawned processes not ended
	done  bool
}

// Bounds of what the gateway keeps of trees that have ended, for views.
const (
	keptTrees     = 256  // trees that ended, newest kept
	keptProcesses = 1000 // processes of one tree that ended, by pid
)

// procState is the gateway's process state, under g.mu.
type procState struct {
	live  map[proc.Key]*process // processes not ended
	roots map[sched.RunRef]*process
	trees map[string][]*tree // by task id, oldest first
	ended []*tree            // trees that ended, oldest first
}

func newProcState() procState {
	return procState{live: make(map[proc.Key]*process), roots: make(map[sched.RunRef]*process), trees: make(map[string][]*tree)}
}

// parseChildKey reads a spawned process's key ("task/RUN#ATTEMPT.PID").
func parseChildKey(k proc.Key) (root sched.RunRef, pid int, ok bool) {
	i := strings.LastIndexByte(string(k), '.')
	if i < 0 || !strings.Contains(string(k[:i]), "#") {
		return sched.RunRef{}, 0, false
	}
	root, ok = parseRootKey(k[:i])
	pid, err := strconv.Atoi(string(k[i+1:]))
	if !ok || err != nil || pid < 1 {
		return sched.RunRef{}, 0, false
	}
	return root, pid, true
}

// parseRootKey reads a root's key ("task/RUN#ATTEMPT"); task ids hold no
// '/' or '#'.
func parseRootKey(k proc.Key) (sched.RunRef, bool) {
	id, rest, ok := strings.Cut(string(k), "/")
	if !ok {
		return sched.RunRef{}, false
	}
	run, att, ok := strings.Cut(rest, "#")
	if !ok {
		return sched.RunRef{}, false
	}
	i, err1 := strconv.Atoi(run)
	a, err2 := strconv.Atoi(att)
	if err1 != nil || err2 != nil || i < 0 || a < 0 {
		return sched.RunRef{}, false
	}
	return sched.RunRef{Task: id, Index: i, Attempt: a}, true
}

// actorLocked finds process k, which must be running on the connection
// of worker id: a worker acts only for its own processes. A root is
// made into a tree on its first spawn.
func (g *Gateway) actorLocked(id sched.WorkerID, k proc.Key) (*process, error) {
	if p := g.procs.live[k]; p != nil {
		if p.conn == nil || p.conn.id != id {
			return nil, fmt.Errorf("%w: process %s does not run on this worker", proc.ErrInvalid, k)
		}
		return p, nil
	}
	ref, ok := parseRootKey(k)
	if !ok {
		return nil, fmt.Errorf("%w: no process %s", proc.ErrInvalid, k)
	}
	f, ok := g.inflight[ref]
	if !ok || f.worker != id {
		return nil, fmt.Errorf("%w: process %s does not run on this worker", proc.ErrInvalid, k)
	}
	snap, ok := g.sched.Task(ref.Task)
	if !ok {
		return nil, fmt.Errorf("%w: no task %s", proc.ErrInvalid, ref.Task)
	}
	sp := snap.Task.Spec
	root := &process{
		key: k, ref: ref, module: sp.Module, worker: id, conn: f.conn,
		placed: closedChan, status: task.Running, cores: sp.Cores, memory: sp.Memory,
		deadline: f.deadline, started: f.started,
	}
	t := &tree{root: root, procs: []*process{root}, owner: sp.Owner}
	root.tree = t
	g.procs.live[k] = root
	g.procs.roots[ref] = root
	g.procs.trees[ref.Task] = append(g.procs.trees[ref.Task], t)
	return root, nil
}

// closedChan is the placed of a process that is running from the start.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// spawn makes a child of process parent, running on worker id, as r
// asks, and queues it.
func (g *Gateway) spawn(id sched.WorkerID, parent proc.Key, r proc.Request) (proc.Key, error) {
	now := time.Now()
	g.mu.Lock()
	defer g.unlock()
	par, err := g.actorLocked(id, parent)
	if err != nil {
		return "", err
	}
	spec, err := g.childSpec(par, r, now)
	if err != nil {
		return "", err
	}
	if !g.sched.Placeable(&spec) {
		return "", fmt.Errorf("%w: no worker could ever take it (cores %s, memory %s, labels %v)",
			proc.ErrSpawn, api.FormatCores(spec.Cores), api.FormatBytes(spec.Memory), spec.Labels)
	}
	var near sched.WorkerID
	if r.Near == "parent" {
		near = par.worker
	}
	t := par.tree
	if t.live >= g.cfg.MaxProcesses {
		return "", fmt.Errorf("%w: the tree of %s has %d processes running, its limit (the gateway's --max-processes)", proc.ErrSpawn, t.root.key, t.live)
	}
	t.next++
	child := &process{
		pid: t.next, parent: par, tree: t, module: spec.Module,
		placed: make(chan struct{}), status: task.Queued, cores: spec.Cores, memory: spec.Memory,
	}
	child.key = proc.Key(fmt.Sprintf("%s.%d", t.root.key, child.pid))
	spec.ID = string(child.key)
	child.ref = sched.RunRef{Task: spec.ID}
	if _, err := g.sched.SubmitProcess(now, spec, near); err != nil {
		return "", fmt.Errorf("%w: %v", proc.ErrSpawn, err)
	}
	t.live++
	t.procs = append(t.procs, child)
	par.children = append(par.children, child)
	g.procs.live[child.key] = child
	g.metrics.spawned.Inc()
	g.kick()
	return child.key, nil
}

// childSpec is the one-run task of a child of par that r asks for.
func (g *Gateway) childSpec(par *process, r proc.Request, now time.Time) (task.Spec, error) {
	spec := task.Spec{
		Module: par.module, Args: r.Args, Env: r.Env, Stdin: r.Stdin, Labels: r.Labels,
		Owner: par.tree.owner, Cores: g.cfg.SpawnCores, Memory: g.cfg.SpawnMemory,
	}
	if spec.Args == nil {
		spec.Args = []string{}
	}
	if r.Module != "" {
		h, ok := strings.CutPrefix(r.Module, "sha256:")
		if !ok || !g.st.HasModule(h) {
			return task.Spec{}, fmt.Errorf("%w: no module %s (upload it with PUT /modules)", proc.ErrSpawn, r.Module)
		}
		spec.Module = h
	}
	if r.Cores != "" {
		c, err := api.ParseCores(r.Cores)
		if err != nil {
			return task.Spec{}, fmt.Errorf("%w: cores: %v", proc.ErrSpawn, err)
		}
		spec.Cores = c
	}
	if r.Memory != "" {
		m, err := api.ParseBytes(r.Memory)
		if err != nil {
			return task.Spec{}, fmt.Errorf("%w: memory: %v", proc.ErrSpawn, err)
		}
		spec.Memory = m
	}
	// A process holds no slot: what it reserves is all that bounds it.
	if spec.Cores == 0 || spec.Memory == 0 {
		return task.Spec{}, fmt.Errorf("%w: a process must reserve some cores and memory (cores %s, memory %s)", proc.ErrSpawn, api.FormatCores(spec.Cores), api.FormatBytes(spec.Memory))
	}
	left := par.deadline.Sub(now)
	if par.deadline.IsZero() {
		left = g.cfg.TaskTimeout
	}
	if left <= 0 {
		return task.Spec{}, fmt.Errorf("%w: the parent's time limit has passed", proc.ErrSpawn)
	}
	spec.Duration = left
	if r.Timeout > 0 && r.Timeout < left {
		spec.Duration = r.Timeout
	}
	if err := spec.Validate(); err != nil { // the bounds of a task's arguments, environment, labels
		return task.Spec{}, fmt.Errorf("%w: %v", proc.ErrSpawn, err)
	}
	return spec, nil
}

// placedLocked notes that process d was dispatched on worker w, and
// returns its key and its parent's for the run's spec (empty for a task's
// run).
func (g *Gateway) placedLocked(d sched.Dispatch, w *remoteWorker, deadline time.Time) (self, parent proc.Key) {
	p := g.procs.live[proc.Key(d.Ref.Task)]
	if p == nil || p.parent == nil {
		return "", ""
	}
	p.worker, p.conn, p.status = d.Worker, w, task.Running
	p.started, p.deadline = time.Now(), deadline
	close(p.placed)
	return p.key, p.parent.key
}

// endedLocked records that the attempt ref ended with o (current: its
// outcome counted), and carries it through the trees: a process's
// children end with it, and a child's parent is told (tell, called
// without the lock, makes the calls).
func (g *Gateway) endedLocked(ref sched.RunRef, o task.Outcome, now time.Time) (tell []func()) {
	if len(g.procs.live) == 0 {
		return nil
	}
	p := g.procs.roots[ref]
	if p == nil {
		if p = g.procs.live[proc.Key(ref.Task)]; p == nil || p.parent == nil {
			return nil
		}
	}
	exit := proc.Exit{Code: o.ExitCode}
	switch {
	case o.Lost: // its parent is told in the words of docs/PROCESSES.md
		exit = proc.Exit{Code: -1, Err: "worker lost: " + o.Error}
	case o.ExitCode < 0, !o.OK && o.ExitCode == 0 && o.Error != "": // no exit: a trap, a limit, a module that never ran
		exit = proc.Exit{Code: -1, Err: o.Error}
	}
	// A task canceled (DELETE) ends its runs' calls: that is no failure.
	canceled := false
	if st, ok := g.sched.Status(p.ref.Task); ok && st == task.Canceled {
		exit, canceled = proc.Exit{Code: -1, Err: "canceled"}, true
	}
	tell = g.endLocked(p, exit, now)
	if canceled {
		p.status = task.Canceled
	}
	return tell
}

// endLocked ends process p with exit, and its children (as "parent
// ended"), and returns the notices for the parents' workers.
func (g *Gateway) endLocked(p *process, exit proc.Exit, now time.Time) (tell []func()) {
	if p.done {
		return nil
	}
	p.done, p.exit, p.ended = true, exit, now
	p.status = task.Failed
	if exit.Err == "" && exit.Code == 0 {
		p.status = task.Succeeded
	}
	delete(g.procs.live, p.key)
	if p.placed != closedChan {
		select {
		case <-p.placed:
		default:
			close(p.placed) // never placed: a message for it fails
		}
	}
	for _, c := range p.children {
		if c.done {
			continue
		}
		if _, err := g.sched.Cancel(now, c.ref.Task); err == nil {
			for ref, f := range g.inflight {
				if ref.Task == c.ref.Task {
					f.cancel()
				}
			}
		}
		tell = append(tell, g.endLocked(c, proc.Exit{Code: -1, Err: "parent ended"}, now)...)
		c.status = task.Canceled
	}
	if p.parent != nil {
		p.tree.live--
		p.tree.keepLocked()
		// A parent keeps its live children only: a root spawning short
		// children for ever stays bounded (route knows an ended child by
		// its key).
		if par := p.parent; !par.done {
			par.children = slices.DeleteFunc(par.children, func(c *process) bool { return c == p })
		}
	}
	if p.parent == nil {
		delete(g.procs.roots, p.ref)
		g.treeEndedLocked(p.tree)
		return tell
	}
	if par := p.parent; !par.done && g.connectedLocked(par) {
		tell = append(tell, g.tellEnded(par, p, exit))
	}
	return tell
}

// connectedLocked says whether p runs on a connection still in the pool.
// A dropped connection's client is released (dropLocked, shutdown)
// before the outcomes of its runs come back, so a process can outlive,
// briefly, the connection it ran on: nothing may be sent through it.
func (g *Gateway) connectedLocked(p *process) bool {
	return p.conn != nil && g.workers[p.conn.id] == p.conn
}

// keepLocked bounds what t keeps of its ended processes while it runs: a
// root that spawns short children for ever keeps its live ones and the
// first keptProcesses that ended.
func (t *tree) keepLocked() {
	if len(t.procs) <= 2*keptProcesses+t.live {
		return
	}
	kept, ended := t.procs[:0], 0
	for _, p := range t.procs {
		if !p.done || p.parent == nil || ended < keptProcesses {
			if p.done && p.parent != nil {
				ended++
			}
			kept = append(kept, p)
		}
	}
	clear(t.procs[len(kept):])
	t.procs = kept
}

// treeEndedLocked keeps tree t for views among the newest keptTrees.
func (g *Gateway) treeEndedLocked(t *tree) {
	t.done = true
	if len(t.procs) > keptProcesses {
		t.procs = t.procs[:keptProcesses:keptProcesses]
	}
	g.procs.ended = append(g.procs.ended, t)
	for len(g.procs.ended) > keptTrees {
		old := g.procs.ended[0]
		g.procs.ended = g.procs.ended[1:]
		id := old.root.ref.Task
		g.procs.trees[id] = slices.DeleteFunc(g.procs.trees[id], func(x *tree) bool { return x == old })
		if len(g.procs.trees[id]) == 0 {
			delete(g.procs.trees, id)
		}
	}
}

// processesOf lists the process trees of task id, for its view.
func (g *Gateway) processesOf(id string) []api.Process {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []api.Process
	for _, t := range g.procs.trees[id] {
		for _, p := range t.procs {
			out = append(out, p.view())
		}
	}
	return out
}

// view is p as the API shows it.
func (p *process) view() api.Process {
	v := api.Process{
		PID: p.pid, Parent: -1, Key: string(p.key), Run: p.tree.root.ref.Index, Attempt: p.tree.root.ref.Attempt,
		Status: api.Status(p.status), Module: p.module, Worker: string(p.worker),
		Cores: p.cores.Cores(), Memory: p.memory, Started: p.started, Ended: p.ended,
		ExitCode: p.exit.Code, Error: p.exit.Err,
	}
	if p.parent != nil {
		v.Parent = p.parent.pid
	}
	return v
}

// endProcessesLocked takes the updates of spawned processes out of
// updates: they are not stored, so they are final at once, and the
// scheduler forgets each process once it has ended (its tree keeps it).
func (g *Gateway) endProcessesLocked(updates []sched.Update) []sched.Update {
	var procs []sched.Update
	rest := updates[:0:0]
	for _, u := range updates {
		if u.Proc {
			procs = append(procs, u)
		} else {
			rest = append(rest, u)
		}
	}
	g.sched.Saved(procs)
	for _, u := range procs {
		if g.sched.Done(u.Task) {
			g.sched.Forget(u.Task)
		}
	}
	return rest
}
