//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// BenchmarkScaleUp is issue 15's "time from a burst of queued work to the
// first new worker running a task (local backend; goal under 1 s)": a
// gateway with the local backend and no machine gets a burst of three
// short tasks; the figure is from the burst to the first run placed on a
// new machine's worker, split into the scaler's decision, provisioning
// (the worker process's start, its libp2p connection to the gateway and
// the capnp attach, until it offers its slots) and placement. The
// baseline, from the same run: the same burst to a gateway whose worker,
// started by hand, has joined already; and that worker's own start, split
// into exec to start line (process, identity, libp2p host) and start line
// to the pool (connect, attach, offer). Medians of 5.
func BenchmarkScaleUp(b *testing.B) {
	const reps, burst = 5, 3
	wasm, err := os.ReadFile("../wasm/hash/hash-cmd.wasm")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		var decide, provision, place, total, ready, base, launch, join []time.Duration
		for range reps {
			s := scaleUpOnce(b, wasm, burst)
			decide, provision, place = append(decide, s.decide), append(provision, s.provision), append(place, s.place)
			total, ready = append(total, s.total), append(ready, s.ready)
			h := joinedOnce(b, wasm, burst)
			base, launch, join = append(base, h.total), append(launch, h.launch), append(join, h.join)
		}
		fmt.Printf("\n(issue 15) a burst of %d short tasks (hash-cmd.wasm 0 3) to a gateway, local backend, no machine; medians of %d\n", burst, reps)
		fmt.Printf("  burst -> first run placed on a new machine   %6.0f ms   (goal < 1000 ms; runs: %s)\n", ms(median(total)), msList(total))
		fmt.Printf("    burst -> the scaler's start decision       %6.0f ms\n", ms(median(decide)))
		fmt.Printf("    start -> its worker offered (provisioning) %6.0f ms   (process start, libp2p connection, capnp attach)\n", ms(median(provision)))
		fmt.Printf("    offered -> first run placed                %6.0f ms\n", ms(median(place)))
		fmt.Printf("    (the scaler recorded it ready %.0f ms after the offer: it looks when runs wait, else every 250 ms)\n", ms(median(ready)))
		fmt.Printf("  baseline: a worker joined already            %6.0f ms   (runs: %s)\n", ms(median(base)), msList(base))
		fmt.Printf("  a worker started by hand: exec -> start line %.0f ms, start line -> in the pool %.0f ms\n\n", ms(median(launch)), ms(median(join)))
		b.ReportMetric(ms(median(total)), "scaleup-ms")
		b.ReportMetric(ms(median(base)), "joined-ms")
	}
}

// scaleUp is where one burst's time went, to the first run placed on a
// new machine.
type scaleUp struct {
	decide, provision, place, total time.Duration
	ready                           time.Duration // from the offer to the scaler's ready
}

func scaleUpOnce(b *testing.B, wasm []byte, burst int) scaleUp {
	data := b.TempDir()
	httpAddr := freePort(b)
	gw := "http://" + httpAddr
	g := startNode(b, "gateway", "--data", data, "--http", httpAddr, "--discover", "none",
		"--backend", "local", "--standby-machines", "0", "--machines-limit", "3", "--machine-slots", "1")
	defer stopCluster(g, data)
	mod := putWasm(b, gw, wasm)
	t0 := time.Now()
	tasks := submitBurst(b, gw, mod, burst, "0", "3")
	first := firstRun(tasks)
	var c api.Cluster
	var m api.Machine
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mustGetJSON(b, gw+"/cluster", &c)
		if i := slices.IndexFunc(c.Machines, func(m api.Machine) bool { return m.Worker == first.Worker }); i >= 0 && c.Machines[i].Phase == "ready" {
			m = c.Machines[i]
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the first run's worker %s is no machine ready: %+v", first.Worker, c.Machines)
		}
	}
	i := slices.IndexFunc(c.Decisions, func(d api.ScaleDecision) bool { return d.Kind == "start" })
	// The worker's log has the time to the millisecond: what follows the
	// offer may seem to precede it by less.
	offered := offeredAt(b, filepath.Join(data, "machines", m.ID, "worker.log"))
	return scaleUp{
		decide:    c.Decisions[i].Time.Sub(t0),
		provision: offered.Sub(m.Started),
		place:     max(first.Started.Sub(offered), 0),
		total:     first.Started.Sub(t0),
		ready:     max(m.Since.Sub(offered), 0),
	}
}

// joined is the baseline: a burst to a gateway whose worker has joined.
type joined struct {
	total        time.Duration // burst -> first run placed
	launch, join time.Duration // the worker's exec -> start line -> in the pool
}

func joinedOnce(b *testing.B, wasm []byte, burst int) joined {
	data := b.TempDir()
	httpAddr := freePort(b)
	gw := "http://" + httpAddr
	g := startNode(b, "gateway", "--data", filepath.Join(data, "gw"), "--http", httpAddr, "--discover", "none")
	id := peerRE.FindStringSubmatch(g.start)[1]
	t := time.Now()
	w := startNode(b, "worker", "--dial", loopbackAddr(b, g.start)+"/p2p/"+id, "--discover", "none", "--slots", "1",
		"--data", filepath.Join(data, "w"), "--join-token-file", filepath.Join(data, "gw", "join-token"))
	launch := time.Since(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		var pool []workerJSON
		mustGetJSON(b, gw+"/workers", &pool)
		if len(pool) == 1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the worker never joined")
		}
	}
	join := time.Since(t) - launch
	defer w.cmd.Process.Kill()
	defer g.cmd.Process.Kill()
	mod := putWasm(b, gw, wasm)
	t0 := time.Now()
	first := firstRun(submitBurst(b, gw, mod, burst, "0", "3"))
	return joined{total: first.Started.Sub(t0), launch: launch, join: join}
}

// BenchmarkStandbyFirstRun is issue 15's "time for a standby worker to
// take its first run of the deployed module (goal: no compile on the
// critical path)": a gateway with the local backend has the Go hash
// puzzle (wasm/hashgo, 2 MB) uploaded as app before its standby machine
// comes, which compiles it as it joins; then one task of it: the time
// from submit to its end, and the run's own fetch and compile. The
// baseline, from the same run: the same with --warm naming nothing, so
// that the standby machine's first run fetches and compiles the module.
// Medians of 3.
func BenchmarkStandbyFirstRun(b *testing.B) {
	const reps = 3
	wasm, err := os.ReadFile("../wasm/hashgo/hashgo.wasm")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		var warm, cold []firstRunTiming
		for range reps {
			warm = append(warm, standbyFirstRun(b, wasm, "app"))
			cold = append(cold, standbyFirstRun(b, wasm, "nothing"))
		}
		fmt.Printf("\n(issue 15) first run of the deployed module (hashgo.wasm, %d KB, args 0 1) on a standby machine (local backend); medians of %d\n", len(wasm)>>10, reps)
		row := func(name string, rs []firstRunTiming) {
			pick := func(f func(firstRunTiming) time.Duration) time.Duration {
				var ds []time.Duration
				for _, r := range rs {
					ds = append(ds, f(r))
				}
				return median(ds)
			}
			total := pick(func(r firstRunTiming) time.Duration { return r.total })
			fmt.Printf("  %-30s submit -> done %6.0f ms   (runs: %s); in the run: fetch %.0f ms, compile %.0f ms, instantiate %.0f ms, exec %.0f ms\n",
				name, ms(total), msList(pickAll(rs, func(r firstRunTiming) time.Duration { return r.total })),
				ms(pick(func(r firstRunTiming) time.Duration { return r.timing.Fetch })),
				ms(pick(func(r firstRunTiming) time.Duration { return r.timing.Compile })),
				ms(pick(func(r firstRunTiming) time.Duration { return r.timing.Instantiate })),
				ms(pick(func(r firstRunTiming) time.Duration { return r.timing.Exec })))
		}
		row("warmed as it joined", warm)
		row("baseline: not warmed (cold)", cold)
		fmt.Printf("  the warm-up itself, as the scaler reported it: %s (goal: no compile on the critical path)\n\n", warm[len(warm)-1].warmed)
		b.ReportMetric(ms(median(pickAll(warm, func(r firstRunTiming) time.Duration { return r.total }))), "warm-ms")
		b.ReportMetric(ms(median(pickAll(cold, func(r firstRunTiming) time.Duration { return r.total }))), "cold-ms")
	}
}

type firstRunTiming struct {
	total  time.Duration // submit -> the task succeeded, as the client sees it
	timing api.Timing    // the run's own
	warmed string        // the scaler's warm decision's reason
}

func pickAll(rs []firstRunTiming, f func(firstRunTiming) time.Duration) []time.Duration {
	var ds []time.Duration
	for _, r := range rs {
		ds = append(ds, f(r))
	}
	return ds
}

// standbyFirstRun uploads wasm as app to a gateway with the local backend
// and --warm warm, then asks for one standby machine, waits for it (and
// its warm-up, when warm names app), and times its first run of app.
func standbyFirstRun(b *testing.B, wasm []byte, warm string) firstRunTiming {
	data := b.TempDir()
	httpAddr := freePort(b)
	gw := "http://" + httpAddr
	g := startNode(b, "gateway", "--data", data, "--http", httpAddr, "--discover", "none",
		"--backend", "local", "--standby-machines", "0", "--machines-limit", "1", "--machine-slots", "1", "--warm", warm)
	defer stopCluster(g, data)
	req, _ := http.NewRequest(http.MethodPut, gw+"/modules?name=app", bytes.NewReader(wasm))
	var mod api.Module
	mustDo(b, req, &mod)
	one := 1
	body, _ := json.Marshal(api.ClusterPolicy{StandbyMachines: &one})
	req, _ = http.NewRequest(http.MethodPut, gw+"/cluster/policy", bytes.NewReader(body))
	mustDo(b, req, nil)
	want := "ready"
	if warm == "app" {
		want = "warm"
	}
	var warmed string
	for deadline := time.Now().Add(30 * time.Second); warmed == ""; time.Sleep(20 * time.Millisecond) {
		var c api.Cluster
		mustGetJSON(b, gw+"/cluster", &c)
		for _, d := range c.Decisions {
			if d.Kind == want {
				warmed = d.Reason
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("no %s decision: %+v", want, c.Decisions)
		}
	}
	t0 := time.Now()
	tasks := submitBurst(b, gw, mod.SHA256, 1, "0", "1")
	var v api.Task
	for ; v.Status != api.Succeeded; time.Sleep(2 * time.Millisecond) {
		mustGetJSON(b, gw+"/tasks/"+tasks[0].ID, &v)
		if v.Status == api.Failed || time.Since(t0) > 30*time.Second {
			b.Fatalf("task %s: %+v", v.ID, v)
		}
	}
	return firstRunTiming{total: time.Since(t0), timing: v.Runs[0].Timing, warmed: warmed}
}

// submitBurst posts n tasks of module mod with args in one batch, waits
// until every one has succeeded and returns them.
func submitBurst(b *testing.B, gw, mod string, n int, args ...string) []api.Task {
	var specs []any
	for i := range n {
		specs = append(specs, map[string]any{"id": fmt.Sprint("burst", i), "module": "sha256:" + mod, "args": args})
	}
	body, _ := json.Marshal(map[string]any{"tasks": specs})
	req, _ := http.NewRequest(http.MethodPost, gw+"/tasks/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	mustDo(b, req, nil)
	var tasks []api.Task
	for i := range n {
		var v api.Task
		for deadline := time.Now().Add(30 * time.Second); v.Status != api.Succeeded; time.Sleep(10 * time.Millisecond) {
			mustGetJSON(b, fmt.Sprintf("%s/tasks/burst%d", gw, i), &v)
			if v.Status == api.Failed || v.Status == api.Canceled || time.Now().After(deadline) {
				b.Fatalf("task burst%d: %+v", i, v)
			}
		}
		tasks = append(tasks, v)
	}
	return tasks
}

// firstRun is the run placed first among the tasks' first runs.
func firstRun(tasks []api.Task) api.Run {
	first := tasks[0].Runs[0]
	for _, t := range tasks[1:] {
		if t.Runs[0].Started.Before(first.Started) {
			first = t.Runs[0]
		}
	}
	return first
}

var offeredRE = regexp.MustCompile(`time=(\S+) level=INFO msg="offered to gateway"`)

// offeredAt is when a machine's worker first offered its slots to the
// gateway, from its log.
func offeredAt(b *testing.B, log string) time.Time {
	text, err := os.ReadFile(log)
	if err != nil {
		b.Fatal(err)
	}
	m := offeredRE.FindSubmatch(text)
	if m == nil {
		b.Fatalf("no offer in %s:\n%s", log, text)
	}
	t, err := time.Parse(time.RFC3339Nano, string(m[1]))
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// stopCluster kills a gateway and its local machines' workers, which
// outlive it.
func stopCluster(g *proc, data string) {
	g.cmd.Process.Kill()
	for _, pid := range machinePIDs(data) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func mustGetJSON(b *testing.B, url string, v any) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	mustDo(b, req, v)
}

// mustDo sends req, wants a 2xx answer and decodes it into v, if any.
func mustDo(b *testing.B, req *http.Request, v any) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		b.Fatalf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			b.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
