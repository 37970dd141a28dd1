//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReplicatedSubmits submits the same durable load (tasks of an
// uploaded module over HTTP, 16 clients at once, nothing running them)
// to a gateway alone and to the leader of a group of three (shoal gateway
// --raft), where a 201 means a majority holds the task, and prints the
// rate and the median latency of each (goal: the group at least 0.5 of
// the rate, and at most 2x the latency).
func BenchmarkReplicatedSubmits(b *testing.B) {
	const tasks, clients = 3000, 16
	wasm, err := os.ReadFile("../examples/hash.wasm")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		data := b.TempDir()
		alone := "http://" + freePort(b)
		startNode(b, "gateway", "--data", filepath.Join(data, "alone"), "--http", strings.TrimPrefix(alone, "http://"), "--discover", "none")
		rate1, p501 := submitLoad(b, alone, putWasm(b, alone, wasm), tasks, clients)

		var rafts, urls []string
		for range 3 {
			rafts = append(rafts, freePort(b))
			urls = append(urls, "http://"+freePort(b))
		}
		for i := range 3 {
			startNode(b, "gateway", "--data", filepath.Join(data, fmt.Sprint("m", i)), "--http", strings.TrimPrefix(urls[i], "http://"),
				"--discover", "none", "--raft", rafts[i], "--peers", strings.Join(rafts, ","))
		}
		leader, term := "", uint64(0)
		for deadline := time.Now().Add(20 * time.Second); leader == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, u := range urls {
				if in, ok := info(u); ok && in.Raft != nil && in.Raft.State == "leader" && in.Raft.API == u {
					leader, term = u, in.Raft.Term
				}
			}
		}
		if leader == "" {
			b.Fatal("no leader in 20 s")
		}
		rate3, p503 := submitLoad(b, leader, putWasm(b, leader, wasm), tasks, clients)
		// The load must not cost the group its leader: a member too
		// slow to answer a heartbeat would start an election.
		if in, ok := info(leader); !ok || in.Raft == nil || in.Raft.State != "leader" || in.Raft.Term != term {
			b.Errorf("the leader of term %d after the load: %+v", term, in.Raft)
		}
		fmt.Printf("\ndurable submits, %d tasks from %d clients over HTTP:\n"+
			"  a gateway alone:      %6.0f/s, p50 %5.2f ms (baseline)\n"+
			"  a group of 3 (Raft):  %6.0f/s, p50 %5.2f ms: %.2fx the rate (goal >= 0.5), %.2fx the latency (goal <= 2)\n\n",
			tasks, clients, rate1, ms(p501), rate3, ms(p503), rate3/rate1, float64(p503)/float64(p501))
		b.ReportMetric(rate3/rate1, "rate-ratio")
	}
}

// submitLoad submits n tasks of module mod to gw from clients goroutines
// and returns the rate and the median latency of a submit.
func submitLoad(b *testing.B, gw, mod string, n, clients int) (float64, time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				body := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsha256:%s\r\n--x\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n%d\r\n--x--\r\n", mod, i)
				t0 := time.Now()
				resp, err := http.Post(gw+"/tasks", "multipart/form-data; boundary=x", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Errorf("submit %d: %d", i, resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	slices.Sort(lat)
	return rate, lat[len(lat)/2]
}
