package gateway

import (
	"fmt"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// Reservations in the log (docs/PROCESSES.md): a run that reserves cores
// or memory, and every spawned process, has a line in its task's log
// when it takes its reservation on a worker and when it gives it back,
// in Hadean's words, on the stream "shoal".

// reservedLocked writes the line of d's reservation, just placed.
func (g *Gateway) reservedLocked(d sched.Dispatch, isProc bool) {
	if isProc || d.Spec.Cores > 0 || d.Spec.Memory > 0 {
		g.reservationLocked("Reserving", d, +1)
	}
}

// releasedLocked writes the line of d's reservation, given back.
func (g *Gateway) releasedLocked(d sched.Dispatch) {
	if _, _, child := g.whose(d.Ref); child || d.Spec.Cores > 0 || d.Spec.Memory > 0 {
		g.reservationLocked("Releasing", d, -1)
	}
}

// whose finds the task, run and pid whose log has the lines of run ref:
// its own, or its tree's root's when it is a spawned process.
func (g *Gateway) whose(ref sched.RunRef) (root sched.RunRef, pid int, child bool) {
	if p := g.procs.live[proc.Key(ref.Task)]; p != nil && p.parent != nil {
		return p.tree.root.ref, p.pid, true
	}
	if root, pid, ok := parseChildKey(proc.Key(ref.Task)); ok {
		return root, pid, true
	}
	return ref, 0, false
}

// reservationLocked writes one reservation line of d's, taken (sign +1:
// the worker's free resources are now after it) or given back (-1).
func (g *Gateway) reservationLocked(verb string, d sched.Dispatch, sign int) {
	cores, mem, ok := g.sched.Free(d.Worker)
	if !ok {
		return
	}
	before := [2]string{api.FormatCores(cores + d.Spec.Cores), api.FormatBytes(mem + d.Spec.Memory)}
	if sign < 0 {
		before = [2]string{api.FormatCores(cores - min(cores, d.Spec.Cores)), api.FormatBytes(mem - min(mem, d.Spec.Memory))}
	}
	root, pid, _ := g.whose(d.Ref)
	line := fmt.Sprintf("%s resources for %d on %s (before: cores=%s,memory=%s; after: cores=%s,memory=%s; delta: cores=%s,memory=%s)\n",
		verb, pid, api.ShortPeer(string(d.Worker)), before[0], before[1], api.FormatCores(cores), api.FormatBytes(mem), api.FormatCores(d.Spec.Cores), api.FormatBytes(d.Spec.Memory))
	g.sayLocked(root, pid, line)
}

// sayLocked adds a line of the gateway's own (stream shoal) to the log of
// run root's task, as written by process pid, and stores it without
// holding the caller.
func (g *Gateway) sayLocked(root sched.RunRef, pid int, line string) {
	e := g.logs.add(root.Task, root.Index, root.Attempt, pid, "", streamShoal, []byte(line))
	g.tasks.Add(1)
	go func() {
		defer g.tasks.Done()
		if err := g.logs.save(root.Task, e); err != nil {
			g.log.Debug("save a line of the gateway's", "task", root.Task, "err", err)
		}
	}()
}

// streamShoal is the log stream of the gateway's own lines.
const streamShoal = "shoal"
