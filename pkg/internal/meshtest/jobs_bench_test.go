package meshtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkJobs measures what a job costs over the same work as separate
// tasks: a job of 3 trivial steps (the C hash command at difficulty 1)
// against 3 tasks of the same module submitted and awaited one after the
// other, on one in-process worker with the module cached; and the time
// from a step's end to the next step's start (goal: under 2 ms), as the
// gateway hears of them.
func BenchmarkJobs(b *testing.B) {
	const n = 500
	for range b.N {
		m := meshtest.Start(b, meshtest.Options{Workers: 1, Slots: 1})
		m.WaitWorkers(1)
		mod := putModule(b, m, wasm.HashCCommand)
		step := fmt.Sprintf(`{"module": "sha256:%s", "args": ["0", "1"]}`, mod)
		job := `{"steps": [` + strings.Join([]string{step, step, step}, ",") + `]}`
		// Warm: the worker compiles the module before the clock starts.
		post(b, m, mod, "warm", 0, 1)
		wait(b, m, "warm")
		runJob(b, m, job)

		// Interleaved, so that the machine's drift weighs on both alike.
		var tasks, jobs time.Duration
		var gaps []time.Duration
		for i := range n {
			start := time.Now()
			for k := range 3 {
				id := fmt.Sprintf("t%d-%d", i, k)
				post(b, m, mod, id, 0, 1)
				wait(b, m, id)
			}
			tasks += time.Since(start)
			start = time.Now()
			j := runJob(b, m, job)
			jobs += time.Since(start)
			for k := 1; k < len(j.Steps); k++ {
				gaps = append(gaps, j.Steps[k].Started.Sub(j.Steps[k-1].Ended))
			}
		}
		tasks, jobs = tasks/n, jobs/n
		m.Close()
		slices.Sort(gaps)
		p50, p99 := gaps[len(gaps)/2], gaps[len(gaps)*99/100]
		fmt.Printf("\njobs of 3 trivial steps against 3 tasks one after the other, 1 in-process worker, module cached (%d each)\n", n)
		fmt.Printf("  3 tasks, submit to result each    %7.2f ms\n", ms(tasks))
		fmt.Printf("  job of 3 steps, submit to result  %7.2f ms   (%.2fx the tasks')\n", ms(jobs), float64(jobs)/float64(tasks))
		fmt.Printf("  step end to next step start       p50 %.3f ms, p99 %.3f ms (goal < 2 ms)\n\n", ms(p50), ms(p99))
		b.ReportMetric(float64(jobs)/float64(tasks), "job/tasks")
		b.ReportMetric(ms(p50), "gap-p50-ms")
	}
}

// runJob submits a job over HTTP and waits for it to succeed.
func runJob(tb testing.TB, m *meshtest.Mesh, body string) api.Job {
	resp, err := http.Post(m.URL+"/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST /jobs: %d %s", resp.StatusCode, b)
	}
	var taken api.Job
	if err := json.Unmarshal(b, &taken); err != nil {
		tb.Fatal(err)
	}
	id := taken.ID
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := m.Gateway.WaitJob(ctx, id)
	if err != nil || j.Status != api.Succeeded {
		tb.Fatalf("job %s: %v %+v", id, err, j)
	}
	return j
}
