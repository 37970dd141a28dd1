package meshtest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/meshtest"
	"github.com/shoalmesh/shoal/pkg/runtime"
	"github.com/shoalmesh/shoal/pkg/task"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkMeshVsInProcess measures the C hash module at difficulty 1: run
// by wazero in this process (the baseline) and through a mesh of a gateway
// and two workers on loopback, submitted over HTTP. It prints both and
// their ratio, and the latency of one task from submit to stored result.
func BenchmarkMeshVsInProcess(b *testing.B) {
	const tasks = 2000
	ctx := context.Background()
	for range b.N {
		base := inProcess(b, ctx, tasks)

		m := meshtest.Start(b, meshtest.Options{Workers: 2, Slots: 1})
		m.WaitWorkers(2)
		mod, err := m.Gateway.PutModule(ctx, wasm.HashC)
		if err != nil {
			b.Fatal(err)
		}
		warm(b, m, mod)
		mesh := throughput(b, m, mod, "tp", tasks, 16)
		burst := throughput(b, m, mod, "burst", 50, 50)
		p50, p99 := latency(b, m, mod, 300)
		m.Close()

		fmt.Printf("\nC hash puzzle, difficulty 1, %d tasks, 2 cores\n", tasks)
		fmt.Printf("  in-process wazero (baseline)   %9.0f tasks/s\n", base)
		fmt.Printf("  mesh: gateway + 2 workers      %9.0f tasks/s   ratio %.2f of in-process\n", mesh, mesh/base)
		fmt.Printf("  50 concurrent tasks            %9.1f ms       (ww-scheduler: ~900 ms)\n", 50/burst*1000)
		fmt.Printf("  one task, submit to result     p50 %.2f ms, p99 %.2f ms (ww-scheduler: 27 ms median)\n\n",
			ms(p50), ms(p99))
		b.ReportMetric(base, "inproc-tasks/s")
		b.ReportMetric(mesh, "mesh-tasks/s")
		b.ReportMetric(mesh/base, "ratio")
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p99), "p99-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// inProcess runs the module n times on one runner with one goroutine per
// core and returns runs per second.
func inProcess(b *testing.B, ctx context.Context, n int) float64 {
	r, err := runtime.New(ctx, runtime.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	h, _, err := r.Compile(ctx, wasm.HashC)
	if err != nil {
		b.Fatal(err)
	}
	diff := int64(1)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := next.Add(1); in <= int64(n); in = next.Add(1) {
				if res := r.Run(ctx, runtime.Spec{Module: h, Input: &in, Difficulty: &diff, Timeout: 5 * time.Second}); !res.OK {
					b.Error(res.Error)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// post submits one task over HTTP by module hash.
func post(tb testing.TB, m *meshtest.Mesh, mod, id string) {
	body := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n%s\r\n--x\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsha256:%s\r\n--x\r\nContent-Disposition: form-data; name=\"difficulty\"\r\n\r\n1\r\n--x\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n7\r\n--x--\r\n", id, mod)
	resp, err := http.Post(m.URL+"/tasks", "multipart/form-data; boundary=x", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
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

// warm lets each worker fetch and compile the module once, so the figures
// are of steady state.
func warm(tb testing.TB, m *meshtest.Mesh, mod string) {
	for i := range 4 {
		post(tb, m, mod, fmt.Sprint("warm", i))
	}
	for i := range 4 {
		wait(tb, m, fmt.Sprint("warm", i))
	}
}

// throughput submits n tasks from c concurrent clients and waits for all;
// it returns tasks per second from the first submit to the last result.
func throughput(tb testing.TB, m *meshtest.Mesh, mod, prefix string, n, c int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				post(tb, m, mod, fmt.Sprint(prefix, i))
			}
		}()
	}
	wg.Wait()
	for i := 1; i <= n; i++ {
		wait(tb, m, fmt.Sprint(prefix, i))
	}
	return float64(n) / time.Since(start).Seconds()
}

// latency submits n tasks one after another, each after the previous one's
// result is stored, and returns the p50 and p99 of submit-to-result.
func latency(tb testing.TB, m *meshtest.Mesh, mod string, n int) (p50, p99 time.Duration) {
	ds := make([]time.Duration, n)
	for i := range n {
		id := fmt.Sprint("seq", i)
		start := time.Now()
		post(tb, m, mod, id)
		wait(tb, m, id)
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100]
}
