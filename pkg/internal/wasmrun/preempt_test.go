package wasmrun_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// TestRunawayEndsAtTimeLimit: every shape of code that never ends is
// stopped at its time limit. Preempt "wazero" is tested on the shapes it
// stops: its checks are at loop back-edges only, so a loop-free call tree
// runs on past its limit (until done, for one of 2^60 calls), and a
// loop-free function called again and again only until the stack overflows.
func TestRunawayEndsAtTimeLimit(t *testing.T) {
	tests := []struct {
		name, module string
		input        int64
		wazero       bool // preempt "wazero" stops it too
	}{
		{name: "loop without calls", module: "spin", wazero: true},
		{name: "loop in a command", module: "loop", wazero: true},
		{name: "deep recursion", module: "recursion", wazero: true},
		{name: "exponential call tree", module: "calltree", input: 60},
		{name: "loop in the start function", module: "start_loop", wazero: true},
		{name: "loop in _initialize", module: "init_loop", wazero: true},
		{name: "long loop-free function again and again", module: "straight"},
		{name: "loop of 16 MiB memory fills", module: "fill_loop", wazero: true},
		{name: "loop of slow host calls", module: "random_loop", wazero: true},
	}
	for _, preempt := range []string{wasmrun.PreemptInstrument, wasmrun.PreemptWazero} {
		cfg := wasmrun.DefaultConfig()
		cfg.Preempt = preempt
		r := MustRunner(t, cfg)
		for _, tt := range tests {
			if preempt == wasmrun.PreemptWazero && !tt.wazero {
				continue
			}
			t.Run(preempt+"/"+tt.name, func(t *testing.T) {
				spec := wasmrun.Spec{Module: MustCompile(t, r, tt.module), Input: ptr(tt.input), Timeout: 50 * time.Millisecond}
				res := r.Run(context.Background(), spec)
				checkResult(t, res, wasmrun.Result{ExitCode: -1}, "time limit of 50ms exceeded")
			})
		}
	}
}

// TestGCWhileRunaway: runtime.GC stops the world, which needs every
// goroutine to reach a safe point; guest code has none, so a run that
// never called the host would hold the GC (and every goroutine waiting on
// it) forever. With every slot and one more spinning, GC still completes,
// and stopping the world for it takes well under a second (what the
// runtime measures as /sched/pauses/stopping/gc; a few milliseconds on a
// quiet machine, 117 ms seen under -race beside the other packages'
// tests: the bound tells a run that yields from one that holds the world
// until it ends, without timing the machine). A liveness property, not a
// timing benchmark.
func TestGCWhileRunaway(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	spin := MustCompile(t, r, "spin")
	n := runtime.GOMAXPROCS(0) + 1
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range n {
		wg.Go(func() { r.Run(ctx, wasmrun.Spec{Module: spin}) })
	}
	for r.Runs(spin) < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // in guest code by now
	before := stoppingForGC()
	var worst time.Duration
	for range 5 {
		start := time.Now()
		runtime.GC()
		worst = max(worst, time.Since(start))
	}
	stopping := stoppingForGC().worstSince(before)
	t.Logf("with %d runaway runs: runtime.GC took up to %v, stopping the world up to %v", n, worst, stopping)
	if stopping > time.Second {
		t.Errorf("stopping the world for GC took up to %v with %d runaway runs; want well under a second", stopping, n)
	}
}

// stwHistogram is the runtime's histogram of the time taken to stop the
// world for GC.
type stwHistogram struct{ *metrics.Float64Histogram }

func stoppingForGC() stwHistogram {
	s := []metrics.Sample{{Name: "/sched/pauses/stopping/gc:seconds"}}
	metrics.Read(s)
	return stwHistogram{s[0].Value.Float64Histogram()}
}

// worstSince is the upper bound of the highest bucket that gained samples
// since before.
func (h stwHistogram) worstSince(before stwHistogram) time.Duration {
	for i := len(h.Counts) - 1; i >= 0; i-- {
		if h.Counts[i] > before.Counts[i] {
			return time.Duration(min(h.Buckets[i+1], 3600) * 1e9)
		}
	}
	return 0
}

// TestFuel: a run's fuel is the same every time for the same module and
// input, grows with the work, and a limit stops the run exactly when it is
// passed.
func TestFuel(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	h, _, err := r.Compile(context.Background(), wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	spec := wasmrun.Spec{Module: h, Input: ptr(0), Difficulty: ptr(2)}
	first := r.Run(context.Background(), spec)
	if !first.OK || first.Fuel == 0 {
		t.Fatalf("run: %+v", first)
	}
	for range 3 {
		if res := r.Run(context.Background(), spec); res.Fuel != first.Fuel {
			t.Fatalf("fuel %d, then %d", first.Fuel, res.Fuel)
		}
	}
	harder := spec
	harder.Difficulty = ptr(3)
	if res := r.Run(context.Background(), harder); res.Fuel <= first.Fuel {
		t.Errorf("difficulty 3 used %d fuel, difficulty 2 %d", res.Fuel, first.Fuel)
	}

	spec.Fuel = first.Fuel
	if res := r.Run(context.Background(), spec); !res.OK || res.Fuel != first.Fuel {
		t.Errorf("with a limit of exactly what it needs: %+v", res)
	}
	spec.Fuel = first.Fuel - 1
	res := r.Run(context.Background(), spec)
	checkResult(t, res, wasmrun.Result{ExitCode: -1}, "fuel exhausted (limit "+itoa(spec.Fuel)+")")
	if res.Fuel <= spec.Fuel {
		t.Errorf("stopped at fuel %d, within its limit %d", res.Fuel, spec.Fuel)
	}

	spin := MustCompile(t, r, "spin")
	res = r.Run(context.Background(), wasmrun.Spec{Module: spin, Fuel: 1000})
	checkResult(t, res, wasmrun.Result{ExitCode: -1}, "fuel exhausted (limit 1000)")
}

// TestFuelNeedsInstrument: a Runner that lets wazero stop runs counts no
// fuel, and refuses a fuel limit rather than ignore it.
func TestFuelNeedsInstrument(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.Preempt = wasmrun.PreemptWazero
	r := MustRunner(t, cfg)
	h := MustCompile(t, r, "ww_add")
	if res := r.Run(context.Background(), wasmrun.Spec{Module: h}); !res.OK || res.Fuel != 0 {
		t.Errorf("run: %+v", res)
	}
	res := r.Run(context.Background(), wasmrun.Spec{Module: h, Fuel: 10})
	if res.OK || !strings.HasPrefix(res.Error, "a fuel limit needs instrumented modules") {
		t.Errorf("run with a fuel limit: %+v", res)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
