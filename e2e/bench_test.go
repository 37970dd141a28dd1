//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkQueuedRSS submits 100,000 tasks to a gateway with no workers
// and prints its resident memory (goal: under 300 MB) and the submit rate,
// measured on the real binary.
func BenchmarkQueuedRSS(b *testing.B) {
	const tasks = 100_000
	for range b.N {
		httpAddr := freePort(b)
		gw := "http://" + httpAddr
		g := startNode(b, "gateway", "--data", filepath.Join(b.TempDir(), "gw"), "--http", httpAddr, "--discover", "none")
		idle := rss(b, g.cmd.Process.Pid)

		wasm, _ := os.ReadFile("../examples/hash.wasm")
		req, _ := http.NewRequest(http.MethodPut, gw+"/modules", strings.NewReader(string(wasm)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var mod struct{ SHA256 string }
		json.NewDecoder(resp.Body).Decode(&mod)
		resp.Body.Close()

		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= tasks; i = next.Add(1) {
					body := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsha256:%s\r\n--x\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n%d\r\n--x--\r\n", mod.SHA256, i)
					resp, err := http.Post(gw+"/tasks", "multipart/form-data; boundary=x", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body) // so the connection is reused
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("submit %d: %d", i, resp.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		queued := rss(b, g.cmd.Process.Pid)
		fmt.Printf("\ngateway with %d queued tasks: RSS %.0f MB (idle %.0f MB; goal < 300 MB); submitted at %.0f tasks/s over HTTP\n\n",
			tasks, queued, idle, tasks/elapsed.Seconds())
		b.ReportMetric(queued, "rss-MB")
		b.ReportMetric(tasks/elapsed.Seconds(), "submits/s")
	}
}

// rss reads a process's resident set size in MB.
func rss(b *testing.B, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkMapReduce runs the map-reduce example (examples/mapreduce.wasm,
// 4 children) at difficulty 5, where the hashing dominates, on one worker
// and then on two: wall time from submit to stored result. Each worker is
// its own process limited to one core (GOMAXPROCS=1), so that a second
// worker adds a core, as a second machine would; in one process the
// workers would share the same two cores and a second one could add
// nothing.
func BenchmarkMapReduce(b *testing.B) {
	const difficulty, children, rounds = 5, 4, 2
	for range b.N {
		httpAddr := freePort(b)
		gw := "http://" + httpAddr
		data := b.TempDir()
		g := startNode(b, "gateway", "--data", filepath.Join(data, "gw"), "--http", httpAddr, "--discover", "none")
		id := peerRE.FindStringSubmatch(g.start)[1]
		addr := loopbackAddr(b, g.start)
		worker := func(name string) {
			startNodeEnv(b, []string{"GOMAXPROCS=1"}, "worker", "--dial", addr+"/p2p/"+id, "--discover", "none", "--slots", "1", "--cores", "1",
				"--label", "node="+name, "--data", filepath.Join(data, name), "--join-token-file", filepath.Join(data, "gw", "join-token"))
		}
		wasm, err := os.ReadFile("../examples/mapreduce.wasm")
		if err != nil {
			b.Fatal(err)
		}
		mod := putWasm(b, gw, wasm)

		worker("a")
		waitPool(b, gw, 1)
		mapReduce(b, gw, mod, "warm-a", "node=a", 1, 1) // compiles on a
		var one, two []time.Duration
		for i := range rounds {
			d, _ := mapReduce(b, gw, mod, fmt.Sprint("one", i), "", difficulty, children)
			one = append(one, d)
		}
		worker("b")
		waitPool(b, gw, 2)
		mapReduce(b, gw, mod, "warm-b", "node=b", 1, 1) // compiles on b
		var spread string
		for i := range rounds {
			d, where := mapReduce(b, gw, mod, fmt.Sprint("two", i), "", difficulty, children)
			two = append(two, d)
			spread = where
		}
		best := func(ds []time.Duration) time.Duration { return slices.Min(ds) }
		fmt.Printf("\n(issue 13) map-reduce example, difficulty %d, %d children; each worker a process of one core (GOMAXPROCS=1)\n", difficulty, children)
		fmt.Printf("  1 worker  (baseline)  %7.0f ms   (runs: %s)\n", ms(best(one)), msList(one))
		fmt.Printf("  2 workers             %7.0f ms   (runs: %s)   ratio %.2f; children per worker in the last run: %s\n\n",
			ms(best(two)), msList(two), float64(best(two))/float64(best(one)), spread)
		b.ReportMetric(ms(best(one)), "one-worker-ms")
		b.ReportMetric(ms(best(two)), "two-workers-ms")
	}
}

func msList(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.0f", ms(d)))
	}
	return strings.Join(s, ", ") + " ms"
}

// putWasm uploads a module and returns its sha256.
func putWasm(b *testing.B, gw string, wasm []byte) string {
	req, _ := http.NewRequest(http.MethodPut, gw+"/modules", strings.NewReader(string(wasm)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var mod struct{ SHA256 string }
	json.NewDecoder(resp.Body).Decode(&mod)
	return mod.SHA256
}

// waitPool waits until the gateway's pool holds n workers.
func waitPool(b *testing.B, gw string, n int) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pool []workerJSON
		if resp, err := http.Get(gw + "/workers"); err == nil {
			json.NewDecoder(resp.Body).Decode(&pool)
			resp.Body.Close()
		}
		if len(pool) == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d workers in the pool after 20s, want %d", len(pool), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mapReduce runs the map-reduce example as task id (its root on a worker
// with label, if any) and returns the time from submit to its stored
// result, and how many children ran on each worker.
func mapReduce(b *testing.B, gw, mod, id, label string, difficulty, children int) (time.Duration, string) {
	spec := map[string]any{"id": id, "module": "sha256:" + mod, "args": []string{"0", strconv.Itoa(difficulty), strconv.Itoa(children)}}
	if label != "" {
		spec["labels"] = []string{label}
	}
	body, _ := json.Marshal(map[string]any{"tasks": []any{spec}})
	start := time.Now()
	resp, err := http.Post(gw+"/tasks/batch", "application/json", strings.NewReader(string(body)))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("submit %s: %d", id, resp.StatusCode)
	}
	for {
		var v struct {
			Status    string
			Result    string
			Processes []struct {
				PID    int
				Worker string
			}
		}
		resp, err := http.Get(gw + "/tasks/" + id)
		if err != nil {
			b.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		switch v.Status {
		case "succeeded":
			elapsed := time.Since(start)
			per := map[string]int{}
			for _, p := range v.Processes {
				if p.PID > 0 {
					per[p.Worker[len(p.Worker)-6:]]++
				}
			}
			return elapsed, fmt.Sprint(per)
		case "failed", "canceled":
			b.Fatalf("%s: %s %q", id, v.Status, v.Result)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// loopbackAddr is the gateway's TCP address on 127.0.0.1 from its start
// line ("shoal gateway peer=ID addrs=A,B,...").
func loopbackAddr(b *testing.B, start string) string {
	for _, f := range strings.Fields(start) {
		if list, ok := strings.CutPrefix(f, "addrs="); ok {
			for _, a := range strings.Split(list, ",") {
				if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
					return a
				}
			}
		}
	}
	b.Fatalf("no /ip4/127.0.0.1/tcp address in %q", start)
	return ""
}
