package meshtest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkLeaderScale is issue 16's seventh item: one gateway, 1,000
// light workers in this process (each with its own libp2p host and Cap'n
// Proto connection, running no wasm: meshtest.Options.Light) and 100,000
// tasks. It prints, each next to its baseline from the same run:
//
//   - the gateway's heap and the process's RSS with 100,000 tasks queued
//     and no worker, next to the same with none queued;
//   - dispatches/s, from one POST /tasks/batch of 100,000 tasks to the
//     last run ended, with 1,000 workers joined, next to 10 workers;
//   - the time from closing 100 workers' hosts at once to the gateway's
//     pool without them.
//
// The workers share the process: the heap before they join is the
// gateway's alone, and the figures with them are the whole process's.
// Each worker holds a listener and a connection, and the gateway one
// connection a worker: Go raises the limit of open files to the hard one
// when the process starts (20,000 here).
func BenchmarkLeaderScale(b *testing.B) {
	const tasks, workers, few, lost = 100_000, 1000, 10, 100
	for range b.N {
		m := meshtest.Start(b, leaderOptions(0))
		mod := putModule(b, m, wasm.HashC)
		emptyHeap, emptyRSS := memory()
		submitBatch(b, m, mod, "q", tasks, 0)
		queuedHeap, queuedRSS := memory()
		b.Logf("%d queued: heap %.1f MB, RSS %.1f MB", tasks, mb(queuedHeap), mb(queuedRSS))

		start := time.Now()
		for range workers {
			m.AddWorker()
		}
		started := time.Since(start)
		b.Logf("%d workers started in %v; %d in the pool", workers, started, len(m.Gateway.Workers()))
		m.WaitWorkers(workers)
		joined := time.Since(start)
		waitDrained(b, m, "q", tasks)
		drained := time.Since(start)
		idleHeap, idleRSS := memory()

		cpu0 := cpuTime(b)
		rate, peakRSS := dispatch(b, m, mod, "t", tasks)
		cpu := (cpuTime(b) - cpu0) / tasks

		// Kill closes a worker's host: its connections end at once, as
		// when its process dies and the kernel closes its sockets.
		start = time.Now()
		var wg sync.WaitGroup
		for _, w := range m.Workers()[:lost] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.Kill()
			}()
		}
		for len(m.Gateway.Workers()) > workers-lost {
			time.Sleep(time.Millisecond)
		}
		noticed := time.Since(start)
		wg.Wait()
		m.Close()
		cpu0 = cpuTime(b)
		baseRate, _ := leaderDispatch(b, few, tasks)
		baseCPU := (cpuTime(b) - cpu0) / tasks

		fmt.Printf("\none gateway, %d light workers of 1 slot in this process (no wasm), 2 cores\n", workers)
		fmt.Printf("  gateway heap in use, no worker:   %7.1f MB with none queued (baseline), %7.1f MB with %d queued: %.2f KB a task\n",
			mb(emptyHeap), mb(queuedHeap), tasks, float64(int64(queuedHeap)-int64(emptyHeap))/tasks/1e3)
		fmt.Printf("  process RSS, no worker:           %7.1f MB with none queued (baseline), %7.1f MB with %d queued (goal < 500 MB)\n",
			mb(emptyRSS), mb(queuedRSS), tasks)
		fmt.Printf("  %d workers started in %.1f s, all in the pool after %.1f s; the %d queued drained after %.1f s\n",
			workers, started.Seconds(), joined.Seconds(), tasks, drained.Seconds())
		fmt.Printf("  process with %d idle workers:   heap %7.1f MB, RSS %7.1f MB (%.0f KB a worker); RSS at most %.1f MB while dispatching\n",
			workers, mb(idleHeap), mb(idleRSS), float64(int64(idleRSS)-int64(queuedRSS))/workers/1e3, mb(peakRSS))
		fmt.Printf("  %d tasks in one POST /tasks/batch to the last run ended: %7.0f dispatches/s with %d workers, %7.0f with %d (baseline; goal >= 5000)\n",
			tasks, rate, workers, baseRate, few)
		fmt.Printf("  CPU time a dispatch (gateway and workers):                  %7.1f us with %d workers, %7.1f us with %d\n",
			us(cpu), workers, us(baseCPU), few)
		fmt.Printf("  %d workers' hosts closed at once: out of the pool after %.1f ms (ww-scheduler: 28-36 s)\n\n",
			lost, ms(noticed))
		b.ReportMetric(rate, "dispatches/s")
		b.ReportMetric(baseRate, "base-dispatches/s")
		b.ReportMetric(mb(queuedRSS), "queued-RSS-MB")
		b.ReportMetric(ms(noticed), "notice-ms")
	}
}

// leaderOptions are those of a mesh of n light workers of 1 slot that
// ping each other every second (not every 250 ms, with 3 s to answer, not
// 1 s): at the defaults, past about 500 workers in one process on 2 cores
// the pings alone take the cores, go unanswered in time, and workers are
// dropped and join again, over and over. A gateway on a machine of its own
// bears only its side of them.
func leaderOptions(n int) meshtest.Options {
	gcfg := gateway.DefaultConfig()
	wcfg := worker.DefaultConfig()
	gcfg.PingInterval, gcfg.PingTimeout = time.Second, 3*time.Second
	wcfg.PingInterval, wcfg.PingTimeout = time.Second, 3*time.Second
	return meshtest.Options{Workers: n, Light: true, Slots: 1, Gateway: &gcfg, Worker: &wcfg}
}

// leaderDispatch starts a gateway with n light workers of 1 slot and
// returns the dispatches/s of tasks tasks submitted in one batch, and the
// process's highest RSS meanwhile.
func leaderDispatch(b *testing.B, n, tasks int) (float64, uint64) {
	m := meshtest.Start(b, leaderOptions(n))
	defer m.Close()
	m.WaitWorkers(n)
	mod := putModule(b, m, wasm.HashC)
	return dispatch(b, m, mod, "t", tasks)
}

// dispatch submits tasks tasks in one POST /tasks/batch and waits until
// every run has ended; it returns the tasks per second from the submit to
// then, and the process's highest RSS meanwhile (sampled every 10 ms).
func dispatch(b *testing.B, m *meshtest.Mesh, mod, prefix string, tasks int) (float64, uint64) {
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak.Store(max(peak.Load(), rss(b)))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	submitBatch(b, m, mod, prefix, tasks, 0)
	waitDrained(b, m, prefix, tasks)
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	return float64(tasks) / elapsed.Seconds(), peak.Load()
}

// waitDrained waits until the gateway has no run pending or running, and
// checks that tasks prefix1..prefixN succeeded (a sample of them: the
// first, the last and every 1000th).
func waitDrained(b *testing.B, m *meshtest.Mesh, prefix string, n int) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		c := m.Gateway.Counts()
		if c.Pending == 0 && c.Used == 0 && c.Waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not drained after 10 minutes: %+v", c)
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= n; i += 1000 {
		wait(b, m, fmt.Sprint(prefix, i))
	}
	wait(b, m, fmt.Sprint(prefix, n))
}

// memory is the heap in use after a collection, and the process's RSS.
func memory() (heap, resident uint64) {
	debug.FreeOSMemory() // a collection, and the freed memory back to the system
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, rss(nil)
}

// rss is the process's resident set (VmRSS), in bytes.
func rss(tb testing.TB) uint64 {
	f, err := os.ReadFile("/proc/self/status")
	if err != nil {
		if tb != nil {
			tb.Error(err)
		}
		return 0
	}
	s := bufio.NewScanner(bytes.NewReader(f))
	for s.Scan() {
		if kb, ok := bytes.CutPrefix(s.Bytes(), []byte("VmRSS:")); ok {
			n, _ := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(kb), []byte(" kB"))), 10, 64)
			return n << 10
		}
	}
	return 0
}
