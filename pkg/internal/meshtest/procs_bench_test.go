package meshtest_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkProcesses is issue 13's figures (docs/PROCESSES.md): spawn
// latency and rate, channel round trips and throughput, measured from
// inside a run by the C guest wasm.ProcBench on a gateway and two workers
// labelled node=a and node=b, each figure next to its baseline from the
// same run. The parent always runs on node=a; its children go to the same
// worker (near=parent, label=node=a) or to the other one (label=node=b).
// Messages between workers take whatever path the code takes; the
// benchmark prints which (the workers hold a libp2p connection of their
// own only when they talk directly).
func BenchmarkProcesses(b *testing.B) {
	const (
		spawns     = 300  // sequential spawns, for latency
		rate       = 3000 // spawns for the rate
		inflight   = 32
		roundTrips = 2000
		small      = 16
		big        = 64 << 10
	)
	same := []string{"near=parent", "label=node=a"}
	other := []string{"label=node=b"}
	for range b.N {
		m := meshtest.Start(b, meshtest.Options{})
		for _, l := range []string{"node=a", "node=b"} {
			cfg := worker.DefaultConfig()
			cfg.Labels = []string{l}
			m.AddWorkerWith(cfg)
		}
		m.WaitWorkers(2)
		mod := putModule(b, m, wasm.ProcBench)
		// Both workers compile the module, and every path is used once,
		// before the clock starts.
		guest(b, m, mod, "warm-a", append([]string{"spawn", "20"}, same...)...)
		guest(b, m, mod, "warm-b", append([]string{"spawn", "20"}, other...)...)

		// Spawn to child running.
		taskP50, taskP99, tm := plainLatency(b, m, mod, spawns)
		sameSp := guest(b, m, mod, "spawn-same", append([]string{"spawn", strconv.Itoa(spawns)}, same...)...)
		otherSp := guest(b, m, mod, "spawn-other", append([]string{"spawn", strconv.Itoa(spawns)}, other...)...)

		// Spawns per second.
		taskRate := plainRate(b, m, mod, rate)
		spread := guest(b, m, mod, "spawns", "spawns", strconv.Itoa(rate), strconv.Itoa(inflight))
		spawnRate := rate / (spread["elapsed_ns"] / 1e9)
		onA, onB := placedOn(b, m, "spawns")

		// Channel round trips.
		capP50, capP99 := capnpRoundTrip(b, m, roundTrips)
		samePP := guest(b, m, mod, "pp-same", append([]string{"pingpong", strconv.Itoa(roundTrips), strconv.Itoa(small)}, same...)...)
		otherPP := guest(b, m, mod, "pp-other", append([]string{"pingpong", strconv.Itoa(roundTrips), strconv.Itoa(small)}, other...)...)
		path := "relayed by the gateway (the workers hold no connection to each other)"
		if ws := m.Workers(); len(ws[0].Host.Network().ConnsToPeer(ws[1].Host.ID())) > 0 {
			path = "direct between the workers (they hold a libp2p connection)"
		}

		// Channel throughput, the receiver's mailbox full (backpressure).
		type stream struct {
			name        string
			n, size     int
			msgs, bytes float64
		}
		streams := []stream{
			{name: "same worker, 16 B", n: 20000, size: small},
			{name: "other worker, 16 B", n: 20000, size: small},
			{name: "same worker, 64 KiB", n: 2000, size: big},
			{name: "other worker, 64 KiB", n: 2000, size: big},
		}
		for i := range streams {
			s := &streams[i]
			where := same
			if strings.HasPrefix(s.name, "other") {
				where = other
			}
			got := guest(b, m, mod, fmt.Sprint("stream", i), append([]string{"stream", strconv.Itoa(s.n), strconv.Itoa(s.size)}, where...)...)
			secs := got["elapsed_ns"] / 1e9
			s.msgs = float64(s.n-1) / secs
			s.bytes = s.msgs * float64(s.size) / 1e6
		}
		m.Close()

		fmt.Printf("\n(issue 13) processes: a gateway and 2 workers on loopback, 2 cores; the C guest wasm.ProcBench (%d bytes), measured inside the run\n", len(wasm.ProcBench))
		fmt.Printf("  spawn to child running, module cached, %d spawns one after another:\n", spawns)
		fmt.Printf("    plain task of the same module, submit to stored result (baseline)  p50 %6.2f ms  p99 %6.2f ms  (its run: queue %.2f, placement %.2f, instantiate %.3f, run %.3f ms)\n",
			ms(taskP50), ms(taskP99), ms(tm.Queue), ms(tm.Placement), ms(tm.Instantiate), ms(tm.Exec))
		for _, c := range []struct {
			name string
			got  map[string]float64
		}{{"same worker ", sameSp}, {"other worker", otherSp}} {
			fmt.Printf("    %s: spawn call to child's first instruction  p50 %6.2f ms  p99 %6.2f ms  ratio %.2f (goal p50 < 2 ms)\n",
				c.name, c.got["start_p50"]/1e6, c.got["start_p99"]/1e6, c.got["start_p50"]/float64(taskP50))
			fmt.Printf("                  to its first message in the parent   p50 %6.2f ms  p99 %6.2f ms\n", c.got["msg_p50"]/1e6, c.got["msg_p99"]/1e6)
			fmt.Printf("                  to wait's return (it exited)         p50 %6.2f ms  p99 %6.2f ms\n", c.got["wait_p50"]/1e6, c.got["wait_p99"]/1e6)
		}
		fmt.Printf("  sustained spawns, children that exit at once, anywhere on 2 workers:\n")
		fmt.Printf("    plain tasks of the same module, %d in one batch (baseline)  %7.0f tasks/s\n", rate, taskRate)
		fmt.Printf("    spawns, %d in flight                                       %7.0f spawns/s   ratio %.2f (goal > 5000/s); of the first %d children, %d on the parent's worker, %d on the other\n",
			inflight, spawnRate, spawnRate/taskRate, onA+onB, onA, onB)
		fmt.Printf("      the parent's time: %.0f%% in spawn calls (%.0f us each), %.0f%% waiting for children\n",
			100*spread["in_spawn_ns"]/spread["elapsed_ns"], spread["in_spawn_ns"]/rate/1e3, 100*spread["in_wait_ns"]/spread["elapsed_ns"])
		fmt.Printf("  channel round trip, %d B each way, %d round trips; between workers: %s\n", small, roundTrips, path)
		fmt.Printf("    bare capnp call (Gateway.ping) over the same libp2p loopback (baseline)  p50 %6.3f ms  p99 %6.3f ms\n", ms(capP50), ms(capP99))
		fmt.Printf("    same worker                                                             p50 %6.3f ms  p99 %6.3f ms\n", samePP["rtt_p50"]/1e6, samePP["rtt_p99"]/1e6)
		fmt.Printf("    other worker                                                            p50 %6.3f ms  p99 %6.3f ms  ratio to capnp %.1f (goal p50 < 0.5 ms)\n",
			otherPP["rtt_p50"]/1e6, otherPP["rtt_p99"]/1e6, otherPP["rtt_p50"]/float64(capP50))
		fmt.Printf("  channel throughput, a child sending as fast as sends return (mailbox bound 64 messages / 1 MiB):\n")
		for _, s := range streams {
			fmt.Printf("    %-22s %6d messages  %9.0f messages/s  %8.1f MB/s\n", s.name, s.n, s.msgs, s.bytes)
		}
		fmt.Println()
		b.ReportMetric(sameSp["start_p50"]/1e6, "spawn-same-p50-ms")
		b.ReportMetric(otherSp["start_p50"]/1e6, "spawn-other-p50-ms")
		b.ReportMetric(spawnRate, "spawns/s")
		b.ReportMetric(otherPP["rtt_p50"]/1e6, "rtt-other-p50-ms")
	}
}

// guest runs wasm.ProcBench as a task on node=a with argv [id, args...]
// and returns the figures it printed.
func guest(tb testing.TB, m *meshtest.Mesh, mod, id string, args ...string) map[string]float64 {
	tb.Helper()
	spec := task.Spec{ID: id, Module: mod, Args: args, Labels: []string{"node=a"}, Duration: 2 * time.Minute}
	if _, err := m.Gateway.Submit(spec); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t, err := m.Gateway.Wait(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	if t.Status != task.Succeeded {
		tb.Fatalf("procbench %v: %s: %+v", args, t.Status, t.Runs)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(strings.TrimSpace(t.Result), "\n") {
		name, v, _ := strings.Cut(line, " ")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			tb.Fatalf("procbench %v printed %q", args, line)
		}
		out[name] = f
	}
	return out
}

// plainLatency submits n plain tasks of procbench [id, "exit"] to node=a
// one after another, each after the previous one's result is stored, and
// returns the p50 and p99 of submit to stored result and the mean timing
// of their runs.
func plainLatency(tb testing.TB, m *meshtest.Mesh, mod string, n int) (p50, p99 time.Duration, mean task.Timing) {
	ds := make([]time.Duration, n)
	for i := range ds {
		id := fmt.Sprint("plain", i)
		start := time.Now()
		if _, err := m.Gateway.Submit(task.Spec{ID: id, Module: mod, Args: []string{"exit"}, Labels: []string{"node=a"}}); err != nil {
			tb.Fatal(err)
		}
		wait(tb, m, id)
		ds[i] = time.Since(start)
		t, err := m.Gateway.Task(id)
		if err != nil {
			tb.Fatal(err)
		}
		tm := t.Runs[0].Timing
		mean.Queue += tm.Queue / time.Duration(n)
		mean.Placement += tm.Placement / time.Duration(n)
		mean.Instantiate += tm.Instantiate / time.Duration(n)
		mean.Exec += tm.Exec / time.Duration(n)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100], mean
}

// plainRate submits n plain tasks of procbench [id, "exit"] in one batch,
// on either worker, and returns tasks per second from the submit to the
// last stored result.
func plainRate(tb testing.TB, m *meshtest.Mesh, mod string, n int) float64 {
	specs := make([]task.Spec, n)
	for i := range specs {
		specs[i] = task.Spec{ID: fmt.Sprint("rate", i+1), Module: mod, Args: []string{"exit"}}
	}
	start := time.Now()
	if _, err := m.Gateway.SubmitBatch(specs); err != nil {
		tb.Fatal(err)
	}
	waitAll(tb, m, "rate", n)
	return float64(n) / time.Since(start).Seconds()
}

// placedOn counts the children of task id that the gateway still shows
// (the first 1,000) on the parent's worker and on the other.
func placedOn(tb testing.TB, m *meshtest.Mesh, id string) (same, other int) {
	t, err := m.Gateway.Task(id)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range t.Processes {
		switch {
		case p.PID == 0:
		case p.Worker == t.Processes[0].Worker:
			same++
		default:
			other++
		}
	}
	return same, other
}

// capnpRoundTrip times n Gateway.ping calls, one after another, from the
// first worker's libp2p host over a capnp connection of its own: a bare
// call's round trip on the same loopback the processes' messages take.
func capnpRoundTrip(tb testing.TB, m *meshtest.Mesh, n int) (p50, p99 time.Duration) {
	ctx := context.Background()
	conn, err := rpc.Dial(ctx, m.Workers()[0].Host, m.Host.ID(), slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	gw := wire.Gateway(conn.Bootstrap(ctx))
	defer gw.Release()
	ping := func() {
		f, release := gw.Ping(ctx, nil)
		defer release()
		if _, err := f.Struct(); err != nil {
			tb.Fatal(err)
		}
	}
	for range 100 {
		ping()
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		ping()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100]
}
