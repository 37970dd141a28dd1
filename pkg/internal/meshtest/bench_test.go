package meshtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// The benchmarks below print, for each workload, the mesh next to the same
// module run by wazero in this process (the baseline), measured in the same
// run. `make bench` runs them once each; docs/BENCHMARKS.md keeps results.
// The mesh's workers take the default of one slot per core (2 here).

// BenchmarkMeshVsInProcess is workload (a): the C hash module at
// difficulty 1, a run of about 0.1 ms, through a gateway and two workers on
// loopback: tasks/s submitted one per request, tasks/s submitted in one
// batch, CPU time per task, and the latency of one task from submit to
// stored result.
func BenchmarkMeshVsInProcess(b *testing.B) {
	const tasks = 4000
	ctx := context.Background()
	for range b.N {
		base, baseCPU := inProcess(b, ctx, wasm.HashC, tasks, 1)

		m, mod := warmMesh(b, wasm.HashC)
		single := throughput(b, m, mod, "tp", tasks/4, 16)
		cpu0 := cpuTime(b)
		batch := batchThroughput(b, m, mod, "bt", tasks, 1)
		batchCPU := (cpuTime(b) - cpu0) / tasks
		burst := throughput(b, m, mod, "burst", 50, 50)
		p50, p99 := latency(b, m, mod, 300)
		m.Close()

		fmt.Printf("\n(a) C hash puzzle, difficulty 1 (%d-byte module), 2 cores\n", len(wasm.HashC))
		fmt.Printf("  in-process wazero, 2 goroutines (baseline)  %7.0f tasks/s   %6.1f us CPU a task\n", base, us(baseCPU))
		fmt.Printf("  mesh, %d tasks in one POST /tasks/batch    %7.0f tasks/s   %6.1f us CPU a task   ratio %.2f (goal >= 0.5)\n",
			tasks, batch, us(batchCPU), batch/base)
		fmt.Printf("  mesh, one POST /tasks per task, 16 clients  %7.0f tasks/s                        ratio %.2f\n", single, single/base)
		fmt.Printf("  50 concurrent tasks, submit to last result  %7.1f ms        (ww-scheduler: ~900 ms)\n", 50/burst*1000)
		fmt.Printf("  one task, submit to stored result           p50 %.2f ms, p99 %.2f ms (goal p50 <= 2 ms; ww-scheduler: 27 ms median)\n\n",
			ms(p50), ms(p99))
		b.ReportMetric(base, "inproc-tasks/s")
		b.ReportMetric(batch, "mesh-tasks/s")
		b.ReportMetric(batch/base, "ratio")
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p99), "p99-ms")
	}
}

// BenchmarkGoHash is workload (b): the Go hash module (ww ABI, a few MB)
// at difficulty 3, a run of tens of ms.
func BenchmarkGoHash(b *testing.B) {
	const tasks = 100
	ctx := context.Background()
	for range b.N {
		base, _ := inProcess(b, ctx, wasm.HashGoWW, tasks, 3)
		m, mod := warmMesh(b, wasm.HashGoWW)
		mesh := batchThroughput(b, m, mod, "go", tasks, 3)
		p50, _ := latencyAt(b, m, mod, 50, 3)
		m.Close()
		fmt.Printf("\n(b) Go hash puzzle, difficulty 3 (%.1f MB module), 2 cores\n", float64(len(wasm.HashGoWW))/1e6)
		fmt.Printf("  in-process wazero (baseline)  %6.0f tasks/s\n", base)
		fmt.Printf("  mesh, one batch               %6.0f tasks/s   ratio %.2f\n", mesh, mesh/base)
		fmt.Printf("  one task, submit to result    p50 %.2f ms\n\n", ms(p50))
		b.ReportMetric(mesh/base, "ratio")
	}
}

// BenchmarkLargeModule is workload (c): a 20 MB module (wasm.Padded). Its
// first run pays for shipping and compiling it; later runs must not: the
// module crosses the network once per worker, and is compiled once per
// worker.
func BenchmarkLargeModule(b *testing.B) {
	const size, tasks = 20 << 20, 40
	big := wasm.Padded(size)
	ctx := context.Background()
	for range b.N {
		r, err := wasmrun.New(ctx, wasmrun.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		h, _, err := r.Compile(ctx, big)
		if err != nil {
			b.Fatal(err)
		}
		runOnce := func(in int64) {
			d := int64(64)
			if res := r.Run(ctx, wasmrun.Spec{Module: h, Input: &in, Difficulty: &d, Timeout: 10 * time.Second}); !res.OK {
				b.Fatal(res.Error)
			}
		}
		runOnce(0)
		baseFirst := time.Since(start)
		start = time.Now()
		for i := range tasks {
			runOnce(int64(i * 1000))
		}
		baseLater := time.Since(start) / tasks
		r.Close(ctx)

		m := meshtest.Start(b, meshtest.Options{Workers: 2})
		m.WaitWorkers(2)
		start = time.Now()
		mod := putModule(b, m, big)
		upload := time.Since(start)
		start = time.Now()
		post(b, m, mod, "first", 0, 64)
		wait(b, m, "first")
		first := time.Since(start)
		var later []time.Duration
		for i := range tasks {
			id := fmt.Sprint("later", i)
			start := time.Now()
			post(b, m, mod, id, int64(i*1000), 64)
			wait(b, m, id)
			later = append(later, time.Since(start))
		}
		// Runs on the other worker too, so both hold it.
		submitBatch(b, m, mod, "spread", tasks, 64)
		waitAll(b, m, "spread", tasks)
		served := meshtest.Gather(b, m.Gateway.Registry()).Value("shoal_module_bytes_served_total")
		var fetchedBy []string
		for _, w := range m.Workers() {
			got := meshtest.Gather(b, w.Worker.Registry()).Value("shoal_worker_module_bytes_fetched_total")
			fetchedBy = append(fetchedBy, fmt.Sprintf("%.1f MB", got/1e6))
		}
		m.Close()
		slices.Sort(later)
		fmt.Printf("\n(c) a %d MB module (wasm.Padded), 2 workers\n", size>>20)
		fmt.Printf("  in-process: compile + first run %8.1f ms; later runs %6.2f ms each\n", ms(baseFirst), ms(baseLater))
		fmt.Printf("  mesh: PUT /modules %.1f ms; first task %8.1f ms (fetch + compile + run); later tasks p50 %.2f ms\n",
			ms(upload), ms(first), ms(later[len(later)/2]))
		fmt.Printf("  module bytes the gateway sent: %.1f MB = %.2f times the module, over %d runs on 2 workers (goal: once per worker);\n",
			served/1e6, served/float64(len(big)), 1+2*tasks)
		fmt.Printf("  fetched by each worker: %s\n\n", strings.Join(fetchedBy, ", "))
		b.ReportMetric(served/float64(len(big)), "module-transfers")
	}
}

// BenchmarkBatchDispatch submits 10,000 trivial tasks (the C hash module at
// difficulty 0) in one POST /tasks/batch to a gateway with 100 in-process
// workers of 1 slot each, and prints the rate from the submit to the last
// result (goal: 5,000 tasks/s or more).
func BenchmarkBatchDispatch(b *testing.B) {
	const tasks, workers = 10_000, 100
	for range b.N {
		m := meshtest.Start(b, meshtest.Options{Workers: workers, Slots: 1})
		m.WaitWorkers(workers)
		mod := putModule(b, m, wasm.HashC)
		// Every worker compiles the module before the clock starts.
		submitBatch(b, m, mod, "warm", workers*2, 0)
		waitAll(b, m, "warm", workers*2)
		start, cpu0 := time.Now(), cpuTime(b)
		submitBatch(b, m, mod, "t", tasks, 0)
		submitted := time.Since(start)
		waitAll(b, m, "t", tasks)
		elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
		tm := phases(b, m, "t", tasks)
		m.Close()
		rate := tasks / elapsed.Seconds()
		fmt.Printf("\n%d trivial tasks in one POST /tasks/batch, %d in-process workers of 1 slot, 2 cores\n", tasks, workers)
		fmt.Printf("  submit (checked, stored in one transaction)  %7.1f ms\n", ms(submitted))
		fmt.Printf("  submit to last result                        %7.1f ms   %7.0f tasks/s (goal >= 5000)\n", ms(elapsed), rate)
		fmt.Printf("  CPU time a task, gateway and workers         %7.1f us\n", us(cpu/tasks))
		fmt.Printf("  mean phases: queue %.1f ms, placement %.2f ms, instantiate %.3f ms, run %.3f ms\n\n",
			ms(tm.Queue), ms(tm.Placement), ms(tm.Instantiate), ms(tm.Exec))
		b.ReportMetric(rate, "tasks/s")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// inProcess runs the module n times at difficulty on one runner, with one
// goroutine per core, and returns runs per second and CPU time per run.
func inProcess(b *testing.B, ctx context.Context, module []byte, n int, difficulty int64) (float64, time.Duration) {
	return inProcessWith(b, ctx, wasmrun.DefaultConfig(), module, n, difficulty)
}

// inProcessWith is inProcess with a runner configured by cfg.
func inProcessWith(b *testing.B, ctx context.Context, cfg wasmrun.Config, module []byte, n int, difficulty int64) (float64, time.Duration) {
	r, err := wasmrun.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	h, _, err := r.Compile(ctx, module)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime(b)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := next.Add(1); in <= int64(n); in = next.Add(1) {
				if res := r.Run(ctx, wasmrun.Spec{Module: h, Input: &in, Difficulty: &difficulty, Timeout: 5 * time.Second}); !res.OK {
					b.Error(res.Error)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), (cpuTime(b) - cpu0) / time.Duration(n)
}

// putModule uploads a module and returns its hash.
func putModule(tb testing.TB, m *meshtest.Mesh, wasm []byte) string {
	mod, err := m.Gateway.PutModule(context.Background(), wasm)
	if err != nil {
		tb.Fatal(err)
	}
	return mod
}

// post submits one task over HTTP by module hash.
func post(tb testing.TB, m *meshtest.Mesh, mod, id string, input, difficulty int64) {
	body := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n%s\r\n--x\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsha256:%s\r\n--x\r\nContent-Disposition: form-data; name=\"difficulty\"\r\n\r\n%d\r\n--x\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n%d\r\n--x--\r\n", id, mod, difficulty, input)
	resp, err := http.Post(m.URL+"/tasks", "multipart/form-data; boundary=x", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // so the connection is reused
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST %s: %d", id, resp.StatusCode)
	}
}

func wait(tb testing.TB, m *meshtest.Mesh, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t, err := m.Gateway.Wait(ctx, id)
	if err != nil || t.Status != task.Succeeded {
		tb.Fatalf("%s: %v %+v", id, err, t)
	}
}

func waitAll(tb testing.TB, m *meshtest.Mesh, prefix string, n int) {
	for i := 1; i <= n; i++ {
		wait(tb, m, fmt.Sprint(prefix, i))
	}
}

// warmMesh starts a gateway and two workers, uploads module and lets each
// worker fetch and compile it, so the figures are of steady state.
func warmMesh(tb testing.TB, module []byte) (*meshtest.Mesh, string) {
	m := meshtest.Start(tb, meshtest.Options{Workers: 2})
	m.WaitWorkers(2)
	mod := putModule(tb, m, module)
	submitBatch(tb, m, mod, "warm", 8, 1)
	waitAll(tb, m, "warm", 8)
	return m, mod
}

// throughput submits n tasks from c concurrent clients, one request each,
// and waits for all; it returns tasks per second from the first submit to
// the last result.
func throughput(tb testing.TB, m *meshtest.Mesh, mod, prefix string, n, c int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				post(tb, m, mod, fmt.Sprint(prefix, i), 7, 1)
			}
		}()
	}
	wg.Wait()
	waitAll(tb, m, prefix, n)
	return float64(n) / time.Since(start).Seconds()
}

// batchThroughput submits n tasks in one POST /tasks/batch and waits for
// all; it returns tasks per second from the submit to the last result.
func batchThroughput(tb testing.TB, m *meshtest.Mesh, mod, prefix string, n int, difficulty int) float64 {
	start := time.Now()
	submitBatch(tb, m, mod, prefix, n, difficulty)
	waitAll(tb, m, prefix, n)
	return float64(n) / time.Since(start).Seconds()
}

// submitBatch posts tasks prefix1..prefixN, input i, in one batch.
func submitBatch(tb testing.TB, m *meshtest.Mesh, mod, prefix string, n int, difficulty int) {
	var body strings.Builder
	fmt.Fprintf(&body, `{"defaults": {"module": "sha256:%s", "difficulty": %d}, "tasks": [`, mod, difficulty)
	for i := 1; i <= n; i++ {
		if i > 1 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"id": "%s%d", "input": %d}`, prefix, i, i)
	}
	body.WriteString("]}")
	postBatch(tb, m, body.String())
}

// postBatch posts a POST /tasks/batch body and wants 201.
func postBatch(tb testing.TB, m *meshtest.Mesh, body string) {
	resp, err := http.Post(m.URL+"/tasks/batch", "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST /tasks/batch: %d", resp.StatusCode)
	}
}

// latency submits n tasks at difficulty 1 one after another, each after
// the previous one's result is stored, and returns the p50 and p99 of
// submit-to-result.
func latency(tb testing.TB, m *meshtest.Mesh, mod string, n int) (p50, p99 time.Duration) {
	return latencyAt(tb, m, mod, n, 1)
}

func latencyAt(tb testing.TB, m *meshtest.Mesh, mod string, n int, difficulty int64) (p50, p99 time.Duration) {
	ds := make([]time.Duration, n)
	for i := range n {
		id := fmt.Sprintf("seq%d-%d", difficulty, i)
		start := time.Now()
		post(tb, m, mod, id, 7, difficulty)
		wait(tb, m, id)
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100]
}

// cpuTime is the CPU time this process has used so far (user and system):
// unlike wall-clock rates it holds up when other programs share the cores.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phases averages the timing of the runs of tasks prefix1..prefixN.
func phases(tb testing.TB, m *meshtest.Mesh, prefix string, n int) task.Timing {
	var sum task.Timing
	for i := 1; i <= n; i++ {
		t, err := m.Gateway.Task(fmt.Sprint(prefix, i))
		if err != nil {
			tb.Fatal(err)
		}
		tm := t.Runs[0].Timing
		sum.Queue += tm.Queue
		sum.Placement += tm.Placement
		sum.Instantiate += tm.Instantiate
		sum.Exec += tm.Exec
	}
	d := time.Duration(n)
	return task.Timing{Queue: sum.Queue / d, Placement: sum.Placement / d, Instantiate: sum.Instantiate / d, Exec: sum.Exec / d}
}
