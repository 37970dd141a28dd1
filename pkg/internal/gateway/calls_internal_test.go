package gateway

import (
	"fmt"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Short runs for one worker are split into calls that stay far from
// go-capnp's 64 MiB message limit, counting the specs and the largest
// results, and within the runs a worker takes in one call.
func TestCallsStayWithinLimits(t *testing.T) {
	g := &Gateway{cfg: Config{MaxOutput: 1 << 20}}
	runs := func(n, stdin int) []sched.Dispatch {
		ds := make([]sched.Dispatch, n)
		for i := range ds {
			ds[i] = sched.Dispatch{Ref: sched.RunRef{Task: fmt.Sprint("t", i)}, Spec: task.Spec{ID: fmt.Sprint("t", i), Stdin: make([]byte, stdin)}, Short: true}
		}
		return ds
	}
	for _, c := range []struct {
		name         string
		ds           []sched.Dispatch
		calls, first int
	}{
		{"3000 tiny runs, 1 MiB output each", runs(3000, 0), 3000/31 + 1, 31},
		{"3000 tiny runs, 1 KiB output", nil, 3, callRuns},
		{"64 runs of 3 MiB stdin", runs(64, 3<<20), 10, 7},
		{"one run over the budget", runs(1, 40<<20), 1, 1},
	} {
		if c.ds == nil {
			g.cfg.MaxOutput = 1 << 10
			c.ds = runs(3000, 0)
		}
		got := g.calls(c.ds)
		total := 0
		for _, call := range got {
			size := 0
			for _, d := range call {
				size += runBytes(d.Spec, g.cfg.MaxOutput)
			}
			if len(call) == 0 || len(call) > callRuns || (len(call) > 1 && size > callBytes) {
				t.Fatalf("%s: a call of %d runs, %d bytes", c.name, len(call), size)
			}
			total += len(call)
		}
		if total != len(c.ds) || len(got) != c.calls || len(got[0]) != c.first {
			t.Fatalf("%s: %d calls (first %d runs) for %d of %d runs, want %d calls, the first of %d", c.name, len(got), len(got[0]), total, len(c.ds), c.calls, c.first)
		}
		g.cfg.MaxOutput = 1 << 20
	}
}

// An offer lists the runs its worker holds until a gateway adopts them,
// and a worker may offer again (a module compiled, one evicted) before
// the next dispatch adopts them: each is noted once, or the dispatch
// would adopt it, then turn it down as started already, and the worker
// would stop the run just adopted.
func TestHeldRunsNotedOnce(t *testing.T) {
	g := &Gateway{inflight: make(map[sched.RunRef]inflight)}
	w := &remoteWorker{}
	x, y := task.RunRef{Task: "t"}, task.RunRef{Task: "t", Index: 1}
	g.holdsLocked(w, []task.RunRef{x})
	g.holdsLocked(w, []task.RunRef{x, y})
	if len(w.held) != 2 || len(g.holding) != 1 {
		t.Fatalf("held %v, %d workers holding; want [t/0 t/1] and 1", w.held, len(g.holding))
	}
}
