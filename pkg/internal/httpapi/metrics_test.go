package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// runTask submits a task and returns it once it has ended.
func runTask(tb testing.TB, url string, parts ...part) api.Task {
	tb.Helper()
	ct, body := multipartBody(parts...)
	code, _, b := do(tb, "POST", url+"/tasks", ct, body)
	var v api.Task
	if code != 201 || json.Unmarshal(b, &v) != nil {
		tb.Fatalf("POST /tasks: %d %s", code, b)
	}
	code, _, b = do(tb, "GET", url+"/tasks/"+v.ID+"?wait=30", "", nil)
	if code != 200 || json.Unmarshal(b, &v) != nil || !v.Status.Done() {
		tb.Fatalf("task %s: %d %s", v.ID, code, b)
	}
	return v
}

func mustReadFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// After real runs through a mesh, the gateway's and the worker's metrics
// hold what happened: runs by outcome, a phase observation per run, one
// cache miss per module and hits after, the bytes moved, the pool.
func TestMetricsCountRuns(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1, Metrics: true})
	m.WaitWorkers(1)
	exit3 := mustReadFile(t, "../wasmrun/testdata/exit3.wasm")
	tasks := []api.Task{
		runTask(t, m.URL, hash, part{name: "repeats", value: "5"}, part{name: "input", value: "0"}, part{name: "difficulty", value: "1"}),
		runTask(t, m.URL, part{name: "wasm", file: wasm.Hello}, part{name: "args", value: "x"}),
		runTask(t, m.URL, part{name: "wasm", file: exit3}),
	}
	const succeeded, failed = 6, 1
	// Output reaches the log as the run goes, best effort (a worker drops
	// what its gateway cannot take in time): count what the log got.
	resultBytes, logBytes := 0, 0
	for _, v := range tasks {
		for _, r := range v.Runs {
			resultBytes += len(r.Result)
		}
		var logs api.Logs
		if code, _, b := do(t, "GET", m.URL+"/tasks/"+v.ID+"/logs", "", nil); code != 200 || json.Unmarshal(b, &logs) != nil {
			t.Fatalf("logs of %s: %d %s", v.ID, code, b)
		}
		for _, e := range logs.Entries {
			logBytes += len(e.Data)
		}
	}
	if tasks[0].Status != "succeeded" || tasks[1].Status != "succeeded" || tasks[2].Status != "failed" || tasks[1].Result != "hello x\n" {
		t.Fatalf("tasks ended %s, %s (%q), %s", tasks[0].Status, tasks[1].Status, tasks[1].Result, tasks[2].Status)
	}

	// A run's phases are observed once its record is durable, just after
	// the API can see the task end.
	url := m.Metrics.URL + "/metrics"
	meshtest.Eventually(t, "every run observed", func() bool {
		return meshtest.Scrape(t, url).Count("shoal_run_phase_seconds", "phase", "result") == succeeded+failed
	})
	g := meshtest.Scrape(t, url)
	for name, want := range map[string]float64{
		"shoal_tasks_submitted_total":     3,
		"shoal_run_retries_total":         0,
		"shoal_module_cache_misses_total": 3, // the first run of each module
		"shoal_module_cache_hits_total":   4,
		"shoal_module_bytes_served_total": float64(len(wasm.HashC) + len(wasm.Hello) + len(exit3)),
		"shoal_result_bytes_total":        float64(resultBytes),
		"shoal_log_bytes_received_total":  float64(logBytes),
		"shoal_runs_pending":              0,
		"shoal_runs_ready":                0,
		"shoal_runs_scheduled":            0,
		"shoal_runs_held":                 0,
		"shoal_workers":                   1,
		"shoal_slots":                     1,
		"shoal_slots_used":                0,
		"shoal_slots_free":                1,
		"shoal_store_full":                0, // see TestFullDisk in gateway for a full one
		"shoal_store_full_total":          0,
		"shoal_runs_unsaved_total":        0,
	} {
		if got := g.Value(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for outcome, want := range map[string]float64{"succeeded": succeeded, "failed": failed, "lost": 0} {
		if got := g.Value("shoal_runs_total", "outcome", outcome); got != want {
			t.Errorf("shoal_runs_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	for status, want := range map[string]float64{"scheduled": 0, "queued": 0, "running": 0, "succeeded": 2, "failed": 1, "canceled": 0} {
		if got := g.Value("shoal_tasks", "status", status); got != want {
			t.Errorf("shoal_tasks{status=%q} = %v, want %v", status, got, want)
		}
	}
	for _, phase := range []string{"queue", "placement", "fetch", "compile", "instantiate", "run", "total", "result"} {
		if got := g.Count("shoal_run_phase_seconds", "phase", phase); got != succeeded+failed {
			t.Errorf("shoal_run_phase_seconds{phase=%q} has %d observations, want %d", phase, got, succeeded+failed)
		}
	}
	if g.Value("shoal_store_file_bytes") <= 0 || !g.Has("go_goroutines") || !g.Has("process_cpu_seconds_total") {
		t.Errorf("store size %v; Go and process collectors: %v %v", g.Value("shoal_store_file_bytes"), g.Has("go_goroutines"), g.Has("process_cpu_seconds_total"))
	}

	// The worker's own endpoints, as shoal worker --metrics serves them.
	wk := m.Workers()[0].Worker
	srv := httptest.NewServer(httpapi.NodeHandler("worker", wk, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	meshtest.Eventually(t, "the worker re-offered after compiling", func() bool {
		return meshtest.Scrape(t, srv.URL+"/metrics").Value("shoal_worker_reoffers_total") >= 1
	})
	w := meshtest.Scrape(t, srv.URL+"/metrics")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shoal_worker_runs_total", []string{"outcome", "succeeded"}, succeeded},
		{"shoal_worker_runs_total", []string{"outcome", "failed"}, failed},
		{"shoal_worker_module_cache_misses_total", nil, 3},
		{"shoal_worker_module_cache_hits_total", nil, 4},
		{"shoal_worker_module_bytes_fetched_total", nil, float64(len(wasm.HashC) + len(wasm.Hello) + len(exit3))},
		{"shoal_worker_modules_compiled", nil, 3},
		{"shoal_worker_slots", nil, 1},
		{"shoal_worker_slots_busy", nil, 0},
		{"shoal_worker_connected", nil, 1},
		{"shoal_worker_connects_total", nil, 1},
	} {
		if got := w.Value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, phase := range []string{"fetch", "compile", "instantiate", "run"} {
		if got := w.Count("shoal_worker_run_phase_seconds", "phase", phase); got != succeeded+failed {
			t.Errorf("shoal_worker_run_phase_seconds{phase=%q} has %d observations, want %d", phase, got, succeeded+failed)
		}
	}
	for _, c := range []struct{ path, has string }{
		{"/healthz", `"role": "worker"`},
		{"/readyz", `"status": "ready"`},
	} {
		if code, _, b := do(t, "GET", srv.URL+c.path, "", nil); code != 200 || !strings.Contains(string(b), c.has) {
			t.Errorf("worker GET %s: %d %s, want 200 with %s", c.path, code, b, c.has)
		}
	}
}

// Two meshes in one process count apart: each node has its own registry.
func TestMetricsArePerNode(t *testing.T) {
	a := meshtest.Start(t, meshtest.Options{Metrics: true})
	b := meshtest.Start(t, meshtest.Options{Metrics: true})
	ct, body := multipartBody(hash, part{name: "start", value: "3600"})
	if code, _, b := do(t, "POST", a.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("POST: %d %s", code, b)
	}
	if got := meshtest.Scrape(t, a.Metrics.URL+"/metrics").Value("shoal_tasks_submitted_total"); got != 1 {
		t.Errorf("first gateway: %v tasks submitted, want 1", got)
	}
	if got := meshtest.Scrape(t, b.Metrics.URL+"/metrics").Value("shoal_tasks_submitted_total"); got != 0 {
		t.Errorf("second gateway: %v tasks submitted, want 0", got)
	}
}

// A gateway that is shutting down says so on /readyz (503) while its
// running runs finish, and after it has stopped; /healthz stays 200.
func TestReadyzOfADrainingGateway(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Grace = time.Minute // the run below ends with its worker
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1, Gateway: &cfg, Metrics: true})
	m.WaitWorkers(1)
	ready := func(url string) (int, api.Ready) {
		code, _, b := do(t, "GET", url+"/readyz", "", nil)
		var v api.Ready
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("GET %s/readyz: %d %q is not JSON", url, code, b)
		}
		return code, v
	}
	for _, url := range []string{m.URL, m.Metrics.URL} {
		if code, v := ready(url); code != 200 || v.Status != "ready" {
			t.Fatalf("GET %s/readyz of a running gateway: %d %+v", url, code, v)
		}
	}
	ct, body := multipartBody(part{name: "id", value: "forever"}, part{name: "wasm", file: mustReadFile(t, "../wasmrun/testdata/loop.wasm")}, part{name: "duration", value: "60"})
	if code, _, b := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("POST: %d %s", code, b)
	}
	meshtest.Eventually(t, "the task runs", func() bool {
		tk, err := m.Gateway.Task("forever")
		return err == nil && tk.Status == "running"
	})

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		m.StopGateway()
	}()
	meshtest.Eventually(t, "/readyz says 503 while draining", func() bool { code, _ := ready(m.Metrics.URL); return code == 503 })
	if code, v := ready(m.URL); code != 503 || v.Status != "not ready" || !strings.Contains(v.Reason, "draining") {
		t.Errorf("draining gateway: %d %+v, want 503 draining", code, v)
	}
	if code, _, b := do(t, "GET", m.Metrics.URL+"/healthz", "", nil); code != 200 {
		t.Errorf("/healthz of a draining gateway: %d %s", code, b)
	}
	m.Workers()[0].Kill() // the gateway has nothing left to wait for
	<-stopped
	if code, v := ready(m.Metrics.URL); code != 503 || v.Reason != "shut down" {
		t.Errorf("stopped gateway: %d %+v, want 503 shut down", code, v)
	}
}
