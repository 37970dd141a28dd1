//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFailures is issue 3's scenario with the real binary: a gateway and 3
// workers, 200 tasks; kill -9 one worker mid-run, then kill -9 the gateway
// and start it again on the same data. Every task must end succeeded with
// exactly one completion. It prints what it did and when, and the figures:
// worker kill to its runs queued again, gateway start to first dispatch.
func TestFailures(t *testing.T) {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	group := fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", 20000+rand.IntN(20000))
	httpAddr := freePort(t)
	gw := "http://" + httpAddr
	data := t.TempDir()
	gwArgs := []string{"gateway", "--data", filepath.Join(data, "gw"), "--http", httpAddr, "--discover", group}
	g := startNode(t, gwArgs...)
	id := peerRE.FindStringSubmatch(g.start)[1]
	say("gateway up: %s", id)
	var workers []*proc
	for i := range 3 {
		workers = append(workers, startNode(t, "worker", "--dial", id, "--discover", group, "--slots", "2",
			"--data", filepath.Join(data, fmt.Sprint("w", i)), "--join-token-file", filepath.Join(data, "gw", "join-token")))
	}
	waitFor(t, 20*time.Second, "3 workers", func() bool { return len(poolOf(t, gw)) == 3 })
	say("3 workers in the pool, 2 slots each")

	wasm, err := os.ReadFile("../examples/hash.wasm")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, gw+"/modules", strings.NewReader(string(wasm)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var mod struct{ SHA256 string }
	json.NewDecoder(resp.Body).Decode(&mod)
	resp.Body.Close()

	const tasks = 200
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < tasks; i += 8 {
				body := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nf%d\r\n--x\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nsha256:%s\r\n--x\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n%d\r\n--x\r\nContent-Disposition: form-data; name=\"difficulty\"\r\n\r\n4\r\n--x--\r\n", i, mod.SHA256, i)
				resp, err := http.Post(gw+"/tasks", "multipart/form-data; boundary=x", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("submit f%d: %d", i, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	say("%d tasks submitted (hash puzzle, difficulty 4)", tasks)

	waitFor(t, 30*time.Second, "20 tasks done", func() bool { return doneCount(t, gw) >= 20 })
	victim := workers[0]
	victimID := peerRE.FindStringSubmatch(victim.start)[1]
	killed := time.Now()
	victim.cmd.Process.Kill()
	say("kill -9 worker %s with %d tasks done", victimID[len(victimID)-6:], doneCount(t, gw))
	waitFor(t, 10*time.Second, "the killed worker to leave the pool", func() bool {
		for _, w := range poolOf(t, gw) {
			if w.ID == victimID {
				return false
			}
		}
		return true
	})
	requeued := time.Since(killed)
	say("its runs are queued again %.0f ms after the kill (goal < 2000 ms)", ms(requeued))

	waitFor(t, 60*time.Second, "80 tasks done", func() bool { return doneCount(t, gw) >= 80 })
	before := doneCount(t, gw)
	g.cmd.Process.Kill()
	<-g.done
	g.done <- nil
	say("kill -9 the gateway with %d tasks done", before)
	restarted := time.Now()
	g = startNode(t, gwArgs...)
	say("gateway started again on the same data")
	waitFor(t, 20*time.Second, "a run dispatched after the restart", func() bool {
		for _, w := range poolOf(t, gw) {
			if w.Used > 0 {
				return true
			}
		}
		return false
	})
	firstRun := time.Since(restarted)
	say("first run dispatched %.0f ms after the gateway process started (goal < 1000 ms)", ms(firstRun))

	waitFor(t, 3*time.Minute, "all tasks done", func() bool { return doneCount(t, gw) == tasks })
	var all []taskJSON
	getJSON(t, gw+"/tasks?limit=1000", &all) // every task: 200, one page
	if len(all) != tasks {
		t.Fatalf("%d tasks after the restart, want %d", len(all), tasks)
	}
	for _, tk := range all {
		if tk.Status != "succeeded" || tk.Completions != 1 {
			t.Errorf("task %s: %s with %d completions, want succeeded with exactly 1", tk.ID, tk.Status, tk.Completions)
		}
	}
	say("all %d tasks succeeded, each with exactly one completion", tasks)
	fmt.Printf("figures: worker kill -9 to runs requeued %.0f ms; gateway start to first dispatch %.0f ms\n", ms(requeued), ms(firstRun))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type workerJSON struct {
	ID   string `json:"id"`
	Used int    `json:"used"`
}

func poolOf(t *testing.T, gw string) []workerJSON {
	var ws []workerJSON
	getJSON(t, gw+"/workers", &ws)
	return ws
}

func doneCount(t *testing.T, gw string) int {
	var all []taskJSON
	getJSON(t, gw+"/tasks?limit=1000", &all) // every task: 200, one page
	n := 0
	for _, tk := range all {
		if tk.Status == "succeeded" || tk.Status == "failed" {
			n++
		}
	}
	return n
}

// getJSON decodes a GET; a gateway that is down (restarting) decodes
// nothing.
func getJSON(t *testing.T, url string, v any) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
