package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// Runs of a module the worker lacks, two at a time: each run counts as a
// hit or a miss, the module crosses the network at most once per miss,
// and every run has its phases observed.
func TestMetricsOfConcurrentRuns(t *testing.T) {
	const runs = 4
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2})
	m.WaitWorkers(1)
	mod, err := m.Gateway.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := m.Gateway.Submit(task.Spec{ID: "four", Module: mod, Repeats: runs, Difficulty: &one}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if tk, err := m.Gateway.Wait(ctx, "four"); err != nil || tk.Status != task.Succeeded {
		t.Fatalf("task: %v %s", err, tk.Status)
	}

	w := meshtest.Gather(t, m.Workers()[0].Worker.Registry())
	hits, misses := w.Value("shoal_worker_module_cache_hits_total"), w.Value("shoal_worker_module_cache_misses_total")
	if hits+misses != runs || misses < 1 || misses > 2 {
		t.Errorf("%v hits, %v misses: want %d runs, the first one or two (started together) missing", hits, misses, runs)
	}
	// Runs that miss together share a transfer; one that misses after it
	// ended (while the module compiles) makes another.
	size := float64(len(wasm.HashC))
	if got := w.Value("shoal_worker_module_bytes_fetched_total"); got < size || got > misses*size || int(got)%len(wasm.HashC) != 0 {
		t.Errorf("%v module bytes fetched, want whole transfers of %v, at most one per miss (%v)", got, size, misses)
	}
	if got := w.Value("shoal_worker_runs_total", "outcome", "succeeded"); got != runs {
		t.Errorf("%v runs succeeded, want %d", got, runs)
	}
	for _, phase := range []string{"fetch", "compile", "instantiate", "run"} {
		if got := w.Count("shoal_worker_run_phase_seconds", "phase", phase); got != runs {
			t.Errorf("phase %s: %d observations, want %d", phase, got, runs)
		}
	}
	if got := w.Value("shoal_worker_modules_compiled"); got != 1 {
		t.Errorf("%v modules compiled, want 1", got)
	}
	if got := w.Value("shoal_worker_slots"); got != 2 {
		t.Errorf("%v slots, want 2", got)
	}
}
