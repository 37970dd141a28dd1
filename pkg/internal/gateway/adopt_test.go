package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// runExecuting starts a mesh of one worker of one slot, and task id, a
// run of the hash puzzle at difficulty with its time limit in seconds,
// executing on the worker. The module is compiled there first: a run
// still fetching its module when the gateway goes is not held (it needs
// the gateway).
func runExecuting(t *testing.T, id, difficulty, limit string) (*meshtest.Mesh, *meshtest.Worker) {
	t.Helper()
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	w := m.Workers()[0]
	mustPost(t, m.URL, field{name: "id", value: "warm"}, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	if v := waitDone(t, m.URL, "warm"); v.Status != task.Succeeded {
		t.Fatalf("warm-up: %+v", v)
	}
	mustPost(t, m.URL, field{name: "id", value: id}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "7"}, field{name: "difficulty", value: difficulty}, field{name: "duration", value: limit})
	meshtest.Eventually(t, "the run executing on the worker", func() bool {
		return meshtest.Gather(t, w.Worker.Registry()).Value("shoal_worker_slots_busy") == 1
	})
	return m, w
}

// A run under way when its gateway dies (kill -9: the connections drop)
// goes on on its worker, which hands it to the gateway started again on
// the same database: the run is adopted, not run a second time, and its
// result is the task's.
func TestRunHeldAcrossGatewayCrash(t *testing.T) {
	m, w := runExecuting(t, "held", "5", "60")

	m.CrashGateway()
	v := waitDone(t, m.URL, "held")
	if v.Status != task.Succeeded || v.Completions != 1 || len(v.Runs) != 1 || v.Runs[0].Attempt != 0 {
		t.Fatalf("after the crash: %+v", v)
	}
	mx := meshtest.Scrape(t, m.URL+"/metrics")
	if got := mx.Value("shoal_runs_adopted_total"); got != 1 {
		t.Errorf("runs adopted by the new gateway = %v, want 1", got)
	}
	if got := meshtest.Gather(t, w.Worker.Registry()).Value("shoal_worker_runs_held"); got != 0 {
		t.Errorf("runs still held by the worker = %v, want 0", got)
	}
	// The same puzzle run afresh gives the same counter.
	mustPost(t, m.URL, field{name: "id", value: "again"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "7"}, field{name: "difficulty", value: "5"}, field{name: "duration", value: "60"})
	if again := waitDone(t, m.URL, "again"); again.Runs[0].Result != v.Runs[0].Result {
		t.Errorf("adopted result %q, a fresh run's %q", v.Runs[0].Result, again.Runs[0].Result)
	}
}

// A worker that served a group's leader of some term attaches to no
// gateway of an older term (a deposed leader), and says why; a newer
// term's, or a gateway alone (term 0), it serves.
func TestWorkerFencesAnOlderTerm(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Term = 5
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Gateway: &cfg})
	m.WaitWorkers(1)
	w := m.Workers()[0].Worker
	cfg.Term = 4
	m.RestartGateway()
	meshtest.Eventually(t, "the worker refusing the gateway of term 4", func() bool {
		err := w.Ready()
		return err != nil && strings.Contains(err.Error(), "leads term 4, older than term 5 this worker served")
	})
	if n := len(m.Gateway.Workers()); n != 0 {
		t.Fatalf("the gateway of an older term has %d workers", n)
	}
	cfg.Term = 6
	m.RestartGateway()
	m.WaitWorkers(1)
	cfg.Term = 0
	m.RestartGateway()
	m.WaitWorkers(1)
}

// A run the restarted gateway adopted, whose task is then canceled, is
// stopped on its worker: the cancel ends the adopt call, which the worker
// must not take for its gateway's loss (it would hold the run again, and
// go on with it for up to a minute on a slot the gateway counts free).
func TestAdoptedRunCanceled(t *testing.T) {
	m, w := runExecuting(t, "long", "8", "120") // long enough to outlast the test (its time limit stops it)
	wx := func() meshtest.Metrics { return meshtest.Gather(t, w.Worker.Registry()) }

	m.CrashGateway()
	meshtest.Eventually(t, "the run adopted", func() bool {
		return meshtest.Scrape(t, m.URL+"/metrics").Value("shoal_runs_adopted_total") == 1
	})
	if _, err := newClient(t, m.URL).Cancel(context.Background(), "long"); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "the canceled run stopped on the worker, not held", func() bool {
		x := wx()
		return x.Value("shoal_worker_slots_busy") == 0 && x.Value("shoal_worker_runs_held") == 0
	})
}
