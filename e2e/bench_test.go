//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
