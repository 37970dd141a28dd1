package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/backend"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// meshBackend gives a cluster machines that are real workers in the
// test's process (the local and docker backends have tests of their own):
// it shows the gateway's scaling, not a backend's.
type meshBackend struct {
	mu      sync.Mutex
	m       *meshtest.Mesh
	workers map[string]*meshtest.Worker
	fail    map[string]int // machines whose next starts fail
	starts  int
	// stopTakes is how long a stop takes, as docker stop's does: one
	// whose context ends first fails, the machine left running.
	stopTakes time.Duration
}

func (b *meshBackend) Name() string { return "mesh" }

func (b *meshBackend) Start(_ context.Context, id string, spec backend.WorkerSpec) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.starts++
	if b.fail[id] > 0 {
		b.fail[id]--
		return errors.New("no machine today")
	}
	cfg := worker.DefaultConfig()
	cfg.Labels = spec.Labels
	b.workers[id] = b.m.AddWorkerWith(cfg)
	return nil
}

func (b *meshBackend) Stop(ctx context.Context, id string) error {
	b.mu.Lock()
	takes := b.stopTakes
	b.mu.Unlock()
	if takes > 0 {
		select {
		case <-time.After(takes):
		case <-ctx.Done():
			return fmt.Errorf("machine %s not stopped: %w", id, ctx.Err())
		}
	}
	b.mu.Lock()
	w := b.workers[id]
	delete(b.workers, id)
	b.mu.Unlock()
	if w == nil {
		return backend.ErrUnknown
	}
	w.Stop()
	return nil
}

func (b *meshBackend) List(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id := range b.workers {
		ids = append(ids, id)
	}
	return ids, nil
}

// startCluster starts a gateway that scales through a meshBackend; app,
// when given, is its deployed application, named "app" before any
// machine starts, and warmed on each.
func startCluster(t *testing.T, p scale.Policy, fail map[string]int, app []byte) (*meshtest.Mesh, *meshBackend) {
	b := &meshBackend{workers: map[string]*meshtest.Worker{}, fail: fail}
	cfg := gateway.DefaultConfig()
	cfg.Scale = gateway.ScaleConfig{Backend: b, Policy: p, Tick: 20 * time.Millisecond, Warm: []string{"app"}}
	b.mu.Lock() // until the mesh is there: the scaler's first start waits
	m := meshtest.Start(t, meshtest.Options{Workers: 0, Slots: 1, Gateway: &cfg})
	b.m = m
	if app != nil {
		h, err := m.Gateway.PutModule(context.Background(), app)
		if err == nil {
			err = m.Gateway.NameModule("app", h, "", false)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Unlock()
	return m, b
}

// waitCluster waits until the cluster is as ok says.
func waitCluster(t *testing.T, m *meshtest.Mesh, what string, ok func(api.Cluster) bool) api.Cluster {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := m.Gateway.Cluster()
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster never had %s: %+v", what, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kindsOf(c api.Cluster) []string {
	var out []string
	for _, d := range c.Decisions {
		out = append(out, d.Kind)
	}
	return out
}

func ready(c api.Cluster) int {
	n := 0
	for _, m := range c.Machines {
		if m.Phase == "ready" {
			n++
		}
	}
	return n
}

// A cluster of no machines scales up to its limit under a burst of work,
// runs it, and gives every machine back once idle past its timeout; a
// machine running a long task is not given back while it runs.
func TestClusterScales(t *testing.T) {
	p := scale.Policy{Standby: 0, Limit: 3, Timeout: 300 * time.Millisecond, Cooldown: 0, Slots: 1}
	m, b := startCluster(t, p, nil, nil)
	mod := wasm.HashCCommand
	mustPost(t, m.URL, field{name: "id", value: "long"}, field{name: "args", value: `["0", "5"]`}, field{name: "wasm", file: mod})
	for i := range 6 {
		mustPost(t, m.URL, field{name: "id", value: fmt.Sprint("t", i)}, field{name: "args", value: fmt.Sprintf(`["%d", "3"]`, i)}, field{name: "wasm", file: mod})
	}
	c := waitCluster(t, m, "3 machines ready", func(c api.Cluster) bool { return ready(c) == 3 })
	if starts := slices.Index(kindsOf(c), "start"); starts < 0 || !strings.Contains(c.Decisions[starts].Reason, "runs wait") {
		t.Fatalf("decisions: %+v", c.Decisions)
	}
	for i := range 6 {
		if v := waitDone(t, m.URL, fmt.Sprint("t", i)); v.Status != api.Succeeded {
			t.Fatalf("t%d: %+v", i, v)
		}
	}
	if v := waitDone(t, m.URL, "long"); v.Status != api.Succeeded || v.Runs[0].Attempt != 0 {
		t.Fatalf("the long task, whose machine was busy past the timeout: %+v", v.Runs)
	}
	c = waitCluster(t, m, "every machine given back", func(c api.Cluster) bool { return len(c.Machines) == 0 })
	for _, k := range []string{"start", "ready", "drain", "release", "released"} {
		if !slices.Contains(kindsOf(c), k) {
			t.Fatalf("no %s among the decisions %q", k, kindsOf(c))
		}
	}
	if b.starts != 3 {
		t.Fatalf("%d machines started, want 3 (the limit)", b.starts)
	}
}

// A cluster keeps its standby machine, and a machine that fails to start
// is tried again, the failure reported; the standby machine is warm: its
// first run of the deployed application compiles nothing.
func TestClusterStandbyAndRetry(t *testing.T) {
	p := scale.Policy{Standby: 1, Limit: 2, Timeout: time.Hour, Slots: 1}
	m, _ := startCluster(t, p, map[string]int{"m1": 1}, wasm.HashC)
	c := waitCluster(t, m, "its standby machine ready", func(c api.Cluster) bool { return ready(c) == 1 })
	ks := kindsOf(c)
	if !slices.Equal(ks[:3], []string{"start", "failed", "retry"}) || c.Machines[0].Attempts != 2 {
		t.Fatalf("decisions %q, machines %+v", ks, c.Machines)
	}
	if !strings.Contains(c.Decisions[1].Reason, "no machine today") {
		t.Fatalf("the failure's reason: %q", c.Decisions[1].Reason)
	}
	waitCluster(t, m, "its machine warmed", func(c api.Cluster) bool { return slices.Contains(kindsOf(c), "warm") })
	c = m.Gateway.Cluster()
	if w := c.Decisions[slices.Index(kindsOf(c), "warm")]; !strings.Contains(w.Reason, "compiled 1 of 1") {
		t.Fatalf("warming: %+v", w)
	}
	mustPost(t, m.URL, field{name: "id", value: "one"}, field{name: "wasm", file: wasm.HashC}, field{name: "input", value: "0"}, field{name: "difficulty", value: "1"})
	v := waitDone(t, m.URL, "one")
	if v.Status != api.Succeeded || v.Runs[0].Timing.Compile != 0 || v.Runs[0].Timing.Fetch != 0 {
		t.Fatalf("the first run on the warm standby machine: %+v", v.Runs)
	}
	// An application's [cluster] table: two standby machines while it runs.
	two, three := 2, 3
	if _, err := m.Gateway.SetPolicy(api.ClusterPolicy{StandbyMachines: &three}); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "standby_machines") {
		t.Fatalf("more standby machines than the limit: %v", err)
	}
	if _, err := m.Gateway.SetPolicy(api.ClusterPolicy{StandbyMachines: &two}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, m, "two standby machines", func(c api.Cluster) bool { return ready(c) == 2 && c.StandbyMachines == 2 })
}

// A clean-up's stops outlive the caller's context (an HTTP request's,
// which ends with the answer): the machine is stopped, not forgotten
// while it runs.
func TestClusterCleanUpOutlivesItsCaller(t *testing.T) {
	p := scale.Policy{Standby: 1, Limit: 1, Timeout: time.Hour, Slots: 1}
	m, b := startCluster(t, p, nil, nil)
	waitCluster(t, m, "its standby machine ready", func(c api.Cluster) bool { return ready(c) == 1 })
	b.mu.Lock()
	b.stopTakes = 100 * time.Millisecond
	b.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	released, err := m.Gateway.CleanUp(ctx)
	cancel()
	if err != nil || !slices.Equal(released, []string{"m1"}) {
		t.Fatalf("clean-up: %v, released %q", err, released)
	}
	c := waitCluster(t, m, "m1 stopped", func(c api.Cluster) bool {
		return slices.ContainsFunc(c.Decisions, func(d api.ScaleDecision) bool {
			return d.Machine == "m1" && (d.Kind == "released" || d.Kind == "failed")
		})
	})
	if slices.Contains(kindsOf(c), "failed") {
		t.Fatalf("the stop failed with its caller's context: %+v", c.Decisions)
	}
}

// An application's policy lasts while its task runs (shoal cluster run):
// the cluster's own comes back when the task ends; a deploy after the
// machines joined warms them with it at once.
func TestClusterTaskPolicyAndDeploy(t *testing.T) {
	p := scale.Policy{Standby: 1, Limit: 3, Timeout: time.Hour, Slots: 1}
	m, _ := startCluster(t, p, nil, nil)
	waitCluster(t, m, "its standby machine ready", func(c api.Cluster) bool { return ready(c) == 1 })
	h, err := m.Gateway.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Gateway.NameModule("app", h, "", false); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, m, "its machine warmed by the deploy", func(c api.Cluster) bool {
		i := slices.Index(kindsOf(c), "warm")
		return i >= 0 && strings.Contains(c.Decisions[i].Reason, "compiled 1 of 1")
	})

	mustPost(t, m.URL, field{name: "id", value: "app-run"}, field{name: "args", value: `["0", "30"]`}, field{name: "wasm", file: wasm.HashCCommand})
	two := 2
	if _, err := m.Gateway.SetPolicy(api.ClusterPolicy{Task: "nope", StandbyMachines: &two}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("a policy for no task: %v", err)
	}
	c, err := m.Gateway.SetPolicy(api.ClusterPolicy{Task: "app-run", StandbyMachines: &two})
	if err != nil || c.Task != "app-run" || c.StandbyMachines != 2 || c.MachinesLimit != 3 {
		t.Fatalf("the application's policy: %v %+v", err, c)
	}
	waitCluster(t, m, "two machines while the application runs", func(c api.Cluster) bool { return ready(c) == 2 })
	// A change of the cluster's own policy meanwhile is made over its own,
	// not the application's, and ends the application's.
	four := 4
	if c, err := m.Gateway.SetPolicy(api.ClusterPolicy{MachinesLimit: &four}); err != nil || c.Task != "" || c.StandbyMachines != 1 || c.MachinesLimit != 4 {
		t.Fatalf("the cluster's own policy while a task's is in force: %v %+v", err, c)
	}
	if c, err := m.Gateway.SetPolicy(api.ClusterPolicy{Task: "app-run", StandbyMachines: &two}); err != nil || c.MachinesLimit != 4 {
		t.Fatalf("the application's policy again: %v %+v", err, c)
	}
	req, _ := http.NewRequest(http.MethodDelete, m.URL+"/tasks/app-run", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c = waitCluster(t, m, "the cluster's own policy back", func(c api.Cluster) bool { return c.Task == "" && c.StandbyMachines == 1 })
	if d := c.Decisions[len(c.Decisions)-1]; d.Kind != "policy" || !strings.Contains(d.Reason, "task app-run ended") {
		t.Fatalf("the last decision: %+v", d)
	}
	if _, err := m.Gateway.SetPolicy(api.ClusterPolicy{Task: "app-run", StandbyMachines: &two}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("a policy for an ended task: %v", err)
	}
}
