package meshtest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkComputeBound is issue 11's figure through the mesh: the C hash
// puzzle at difficulty 3 (about 2 ms a run of guest code), one POST /tasks
// per task from 8 clients, a gateway and 2 workers of 2 slots on loopback,
// against wazero in this process with no time limit at all (the baseline,
// 2 goroutines on 2 cores). The mesh is measured with its workers stopping
// runs by instrumentation (the default) and, in the same run, with
// wazero's checks (--preempt wazero, the mechanism before issue 11).
// Goal: mesh with instrumentation / in-process without limits >= 0.5.
func BenchmarkComputeBound(b *testing.B) {
	const tasks = 400
	ctx := context.Background()
	for range b.N {
		base := inProcessMode(b, ctx, wasmrun.PreemptNone, tasks)
		inst := inProcessMode(b, ctx, wasmrun.PreemptInstrument, tasks)
		meshInst := computeMesh(b, wasmrun.PreemptInstrument, tasks)
		meshWazero := computeMesh(b, wasmrun.PreemptWazero, tasks/4)

		fmt.Printf("\n(issue 11) C hash puzzle, difficulty 3, one POST /tasks per task, 2 workers, 2 cores\n")
		fmt.Printf("  in-process wazero, no time limit at all (baseline)  %6.0f tasks/s\n", base)
		fmt.Printf("  in-process, time limits by instrumentation          %6.0f tasks/s   ratio %.2f (goal >= 0.85)\n", inst, inst/base)
		fmt.Printf("  mesh, workers --preempt instrument (default)        %6.0f tasks/s   ratio %.2f (goal >= 0.5)\n", meshInst, meshInst/base)
		fmt.Printf("  mesh, workers --preempt wazero (before issue 11)    %6.0f tasks/s   ratio %.2f\n\n", meshWazero, meshWazero/base)
		b.ReportMetric(base, "inproc-none-tasks/s")
		b.ReportMetric(meshInst, "mesh-tasks/s")
		b.ReportMetric(meshInst/base, "mesh/none")
		b.ReportMetric(meshWazero/base, "mesh-wazero/none")
	}
}

// inProcessMode runs the C hash at difficulty 3 n times on 2 goroutines
// with a runner that stops runs by mode, and returns runs per second.
func inProcessMode(b *testing.B, ctx context.Context, mode string, n int) float64 {
	cfg := wasmrun.DefaultConfig()
	cfg.Preempt = mode
	rate, _ := inProcessWith(b, ctx, cfg, wasm.HashC, n, 3)
	return rate
}

// computeMesh starts a gateway and 2 workers whose runner stops runs by
// mode, warms them with the C hash, and returns tasks/s of n tasks at
// difficulty 3 posted one per request by 8 clients.
func computeMesh(b *testing.B, mode string, n int) float64 {
	wcfg := worker.DefaultConfig()
	wcfg.Runtime.Preempt = mode
	m := meshtest.Start(b, meshtest.Options{Workers: 2, Worker: &wcfg})
	defer m.Close()
	m.WaitWorkers(2)
	mod := putModule(b, m, wasm.HashC)
	submitBatch(b, m, mod, "warm", 8, 1)
	waitAll(b, m, "warm", 8)
	prefix := "d3-" + mode + "-"
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				post(b, m, mod, fmt.Sprint(prefix, i), i, 3)
			}
		}()
	}
	wg.Wait()
	waitAll(b, m, prefix, n)
	return float64(n) / time.Since(start).Seconds()
}
