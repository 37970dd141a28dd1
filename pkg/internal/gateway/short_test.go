package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

func ptr[T any](v T) *T { return &v }

// shortMesh starts a mesh of workers with slots each, stores the C hash
// module, and runs one task of it so that the gateway knows its runs are
// short (sched's short.go); it returns the module's hash. Runs under a
// second count as short here: under the race detector on a loaded CI
// machine, even a run of difficulty 0 can take more than the default 2 ms.
func shortMesh(tb testing.TB, workers, slots int) (*meshtest.Mesh, string) {
	tb.Helper()
	cfg := gateway.DefaultConfig()
	cfg.ShortRun = time.Second
	m := meshtest.Start(tb, meshtest.Options{Workers: workers, Slots: slots, Gateway: &cfg})
	m.WaitWorkers(workers)
	mod, err := m.Gateway.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := m.Gateway.Submit(task.Spec{ID: "teach", Module: mod, Difficulty: ptr[int64](0)}); err != nil {
		tb.Fatal(err)
	}
	waitTask(tb, m.Gateway, "teach")
	return m, mod
}

func waitTask(tb testing.TB, g *gateway.Gateway, id string) task.Task {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t, err := g.Wait(ctx, id)
	if err != nil {
		tb.Fatalf("task %s: %v", id, err)
	}
	return t
}

// Runs of a module known to be short travel several to a Worker.runs
// call: every run gets its own result and timing, and far fewer calls
// than runs are made.
func TestShortRunsShareCalls(t *testing.T) {
	m, mod := shortMesh(t, 1, 1)
	const repeats = 300
	if _, err := m.Gateway.Submit(task.Spec{ID: "many", Module: mod, Input: ptr[int64](7), Difficulty: ptr[int64](1), Repeats: repeats}); err != nil {
		t.Fatal(err)
	}
	v := waitTask(t, m.Gateway, "many")
	want := fmt.Sprint(wasm.Puzzle(7, 1))
	if v.Status != task.Succeeded || v.Completions != repeats {
		t.Fatalf("many: %s with %d completions, want %d", v.Status, v.Completions, repeats)
	}
	for i, r := range v.Runs {
		if r.Status != task.Succeeded || r.Result != want || r.Attempt != 0 || r.Timing.Exec <= 0 || r.Timing.Total < r.Timing.Exec {
			t.Fatalf("run %d: %+v, want result %s at the first attempt, with its timing", i, r, want)
		}
	}
	g := meshtest.Gather(t, m.Gateway.Registry())
	calls, carried := g.Value("shoal_worker_calls_total", "method", "runs"), g.Value("shoal_worker_call_runs_total", "method", "runs")
	single := g.Value("shoal_worker_calls_total", "method", "run")
	if calls == 0 || carried/calls < 2 || calls+single > repeats/2 {
		t.Fatalf("%v runs calls carried %v runs, and %v run calls; want far fewer calls than %d runs", calls, carried, single, repeats+1)
	}
	if carried+g.Value("shoal_worker_call_runs_total", "method", "run") != repeats+1 {
		t.Fatalf("calls carried %v runs, want %d", carried+g.Value("shoal_worker_call_runs_total", "method", "run"), repeats+1)
	}
	t.Logf("%d runs in %v calls of several and %v single", repeats+1, calls, single)
	meshtest.Eventually(t, "the worker's slots free again", func() bool {
		c := m.Gateway.Counts()
		return c.Used == 0 && c.Waiting == 0
	})
}

// Canceling a task whose runs share calls with other tasks' runs stops
// only its own: the others finish at their first attempt, none retried.
func TestCancelSparesRunsSharingItsCall(t *testing.T) {
	m, mod := shortMesh(t, 1, 2)
	const tasks, repeats = 40, 5 // runs of neighbouring tasks meet in calls
	specs := make([]task.Spec, tasks)
	for i := range specs {
		specs[i] = task.Spec{ID: fmt.Sprint("t", i), Module: mod, Difficulty: ptr[int64](2), Repeats: repeats}
	}
	if _, err := m.Gateway.SubmitBatch(specs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < tasks; i += 2 {
		_, _ = m.Gateway.Cancel(fmt.Sprint("t", i)) // some have ended already
	}
	for i := 1; i < tasks; i += 2 {
		v := waitTask(t, m.Gateway, fmt.Sprint("t", i))
		if v.Status != task.Succeeded || v.Completions != repeats {
			t.Fatalf("t%d: %s, %d completions", i, v.Status, v.Completions)
		}
		for _, r := range v.Runs {
			if r.Attempt != 0 {
				t.Fatalf("t%d run %d needed attempt %d: a cancel of another task reached it (%s)", i, r.Index, r.Attempt, r.Error)
			}
		}
	}
	if got := meshtest.Gather(t, m.Gateway.Registry()).Value("shoal_run_retries_total"); got != 0 {
		t.Fatalf("%v retries, want none", got)
	}
}

// A worker that goes away while it holds several short runs loses them
// all to the gateway, which runs them again elsewhere.
func TestLostWorkerLosesItsShortRuns(t *testing.T) {
	m, mod := shortMesh(t, 2, 1)
	const repeats = 8
	if _, err := m.Gateway.Submit(task.Spec{ID: "slow", Module: mod, Input: ptr[int64](3), Difficulty: ptr[int64](4), Repeats: repeats, Duration: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var victim string
	meshtest.Eventually(t, "a worker holding several runs", func() bool {
		for _, w := range m.Gateway.Workers() {
			if w.Used+w.Waiting >= 2 {
				victim = string(w.ID)
				return true
			}
		}
		return false
	})
	for _, w := range m.Workers() {
		if w.Host.ID().String() == victim {
			w.Kill()
		}
	}
	v := waitTask(t, m.Gateway, "slow")
	if v.Status != task.Succeeded || v.Completions != repeats {
		t.Fatalf("slow: %s, %d completions of %d", v.Status, v.Completions, repeats)
	}
	var retried int
	for _, r := range v.Runs {
		if r.Worker == victim {
			t.Fatalf("run %d recorded on the killed worker: %+v", r.Index, r)
		}
		if r.Attempt > 0 {
			retried++
		}
	}
	if retried < 2 {
		t.Fatalf("%d runs retried, want every run the killed worker held (at least 2)", retried)
	}
}
