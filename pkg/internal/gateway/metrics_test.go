package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkScrapeWith100kTasks gathers a gateway's metrics (the Go and
// process collectors included) while it holds 100,000 tasks: what a
// Prometheus scrape costs, most of it under the gateway's lock.
func BenchmarkScrapeWith100kTasks(b *testing.B) {
	m := meshtest.Start(b, meshtest.Options{})
	mod, err := m.Gateway.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		b.Fatal(err)
	}
	var specs []task.Spec
	for i := range 100_000 {
		specs = append(specs, task.Spec{ID: fmt.Sprint("t", i), Module: mod, Start: time.Hour})
		if len(specs) == 10_000 {
			if _, err := m.Gateway.SubmitBatch(specs); err != nil {
				b.Fatal(err)
			}
			specs = specs[:0]
		}
	}
	reg := m.Gateway.Registry()
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// mustCountLostRun checks the metrics of TestLostWorkerRunIsRetried: the
// lost attempt counts once as lost and once as retried, and only the
// retry, which a worker answered, has its phases observed.
func mustCountLostRun(tb testing.TB, m *meshtest.Mesh) {
	tb.Helper()
	meshtest.Eventually(tb, "the retry's outcome observed", func() bool {
		return meshtest.Gather(tb, m.Gateway.Registry()).Count("shoal_run_phase_seconds", "phase", "result") == 1
	})
	g := meshtest.Gather(tb, m.Gateway.Registry())
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shoal_runs_total", []string{"outcome", "lost"}, 1},
		{"shoal_runs_total", []string{"outcome", "succeeded"}, 1},
		{"shoal_runs_total", []string{"outcome", "failed"}, 0},
		{"shoal_run_retries_total", nil, 1},
		{"shoal_tasks", []string{"status", "succeeded"}, 1},
	} {
		if got := g.Value(c.name, c.labels...); got != c.want {
			tb.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := g.Count("shoal_run_phase_seconds", "phase", "run"); got != 1 {
		tb.Errorf("run phase observed %d times, want once: the lost attempt had no answer", got)
	}
}
