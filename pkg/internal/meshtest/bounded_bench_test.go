package meshtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkBounded is issue 12's first item: the gateway's memory does not
// grow with what its tasks hold. It prints the live heap a stored task
// costs with small results next to large ones (the baseline: what a task
// costs whatever it holds), a task of 999,999 repeats next to one of 1,
// and the task list of tasks with large results next to the same page of
// tasks with small ones.
func BenchmarkBounded(b *testing.B) {
	ctx := context.Background()
	m := meshtest.Start(b, meshtest.Options{Workers: 2})
	m.WaitWorkers(2)
	c, err := client.New(m.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	submit := func(s client.Submission) {
		if _, err := c.Submit(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	// run submits n tasks printing size bytes each (stdin copied to the
	// result) and waits for them.
	run := func(prefix string, n, size int) {
		stdin := []byte(strings.Repeat("x", size))
		for i := range n {
			submit(client.Submission{ID: fmt.Sprint(prefix, i), Wasm: wasm.Hello, Stdin: stdin})
		}
		for i := range n {
			wait(b, m, fmt.Sprint(prefix, i))
		}
	}
	// perTask is the live heap a task of size bytes adds, from the slope
	// between n and 4n such tasks: buffers that pools keep (the RPC's, the
	// HTTP server's) grow with the largest message once, not per task.
	perTask := func(prefix string, n, size int) (float64, uint64) {
		run(prefix+"-a", n, size)
		before := liveHeap()
		run(prefix+"-b", 3*n, size)
		after := liveHeap()
		return float64(int64(after)-int64(before)) / float64(3*n), after
	}
	const n = 150
	small, smallHeap := perTask("small", n, 1<<10)
	large, largeHeap := perTask("large", n, 256<<10)

	repeats := func(id string, r int) (time.Duration, uint64) {
		start := time.Now()
		submit(client.Submission{ID: id, Wasm: wasm.Hello, Repeats: r, Start: time.Hour})
		took := time.Since(start)
		return took, liveHeap()
	}
	oneT, oneH := repeats("one", 1)
	manyT, manyH := repeats("many", 999_999)

	page := func(status string) int {
		resp, err := http.Get(m.URL + "/tasks?limit=100&status=" + status)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return len(body)
	}
	// The newest 100 that succeeded are the large ones.
	largePage := page("succeeded")

	fmt.Printf("\n(issue 12) what the gateway holds of a task, 2 workers, 2 cores\n")
	fmt.Printf("  live heap a stored task adds, stdin and result of 1 KiB (baseline)  %7.0f B  (live heap %.1f MB after %d such tasks)\n", small, mb(smallHeap), 4*n)
	fmt.Printf("  live heap a stored task adds, stdin and result of 256 KiB           %7.0f B  (live heap %.1f MB after %d more; before: 512 KiB a task)\n", large, mb(largeHeap), 4*n)
	fmt.Printf("  submit of repeats=1 (baseline)        %8.2f ms, live heap after %6.1f MB\n", ms(oneT), mb(oneH))
	fmt.Printf("  submit of repeats=999,999             %8.2f ms, live heap after %6.1f MB  (before: 7.9 s and 2 GB)\n", ms(manyT), mb(manyH))
	fmt.Printf("  GET /tasks?limit=100 of tasks with results of 256 KiB: %d B (results clipped to 1 KiB; before: the whole results, 25 MB)\n", largePage)
	b.ReportMetric(large, "heap-B/large-task")
	b.ReportMetric(small, "heap-B/small-task")
	b.ReportMetric(ms(manyT), "repeats-999999-ms")
	b.ReportMetric(float64(largePage), "list-bytes")
}

// liveHeap is the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mb(n uint64) float64 { return float64(n) / 1e6 }
