//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// cluster reads GET /cluster.
func cluster(t *testing.T, gw string) api.Cluster {
	t.Helper()
	resp, err := http.Get(gw + "/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c api.Cluster
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// machinePIDs are the pids of the local backend's worker processes under
// data, as its pid files say.
func machinePIDs(data string) []int {
	files, _ := filepath.Glob(filepath.Join(data, "machines", "*", "pid"))
	var pids []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A gateway with the local backend and no machine: a burst of three
// long tasks brings up three worker processes at once, each runs one,
// and every machine is given back once idle past the timeout; no run is
// lost on the way (a machine is never released while busy).
func TestLocalCluster(t *testing.T) {
	data := t.TempDir()
	httpAddr := freePort(t)
	gw := "http://" + httpAddr
	startNode(t, "gateway", "--data", data, "--http", httpAddr, "--discover", "none",
		"--backend", "local", "--standby-machines", "0", "--machines-limit", "3",
		"--machines-timeout", "2s", "--cooldown", "0s", "--machine-slots", "1")
	t.Cleanup(func() { // the machines outlive a killed gateway: none must be left
		for _, pid := range machinePIDs(data) {
			if alive(pid) {
				t.Errorf("worker process %d left running", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	var ids []string
	for i := range 3 {
		out, code := cli(t, gw, "submit", "--id", fmt.Sprint("burst", i), "--args", "0", "--args", "6", "../wasm/hash/hash-cmd.wasm") // about 3 s each
		if code != 0 {
			t.Fatalf("submit: exit %d: %s", code, out)
		}
		ids = append(ids, strings.Fields(out)[0])
	}
	timeline := func(c api.Cluster) string {
		var b strings.Builder
		for _, d := range c.Decisions {
			fmt.Fprintf(&b, "  [%6.2fs] %-8s %-3s %s\n", d.Time.Sub(start).Seconds(), d.Kind, d.Machine, d.Reason)
		}
		return b.String()
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			v := getTask(t, gw, id)
			if v.Status == "succeeded" {
				break
			}
			if v.Status == "failed" || v.Status == "canceled" || time.Now().After(deadline) {
				t.Fatalf("task %s: %+v\n%s", id, v, timeline(cluster(t, gw)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var c api.Cluster
	for {
		c = cluster(t, gw)
		if len(c.Machines) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("machines left: %+v\n%s", c.Machines, timeline(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("timeline:\n%s", timeline(c))
	count := map[string]int{}
	for _, d := range c.Decisions {
		count[d.Kind]++
	}
	if count["start"] != 3 || count["ready"] != 3 || count["release"] != 3 || count["lost"] != 0 {
		t.Fatalf("decisions %v, want 3 starts, 3 ready, 3 releases, none lost", count)
	}
	for _, id := range ids {
		var full api.Task
		resp, err := http.Get(gw + "/tasks/" + id)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&full)
		resp.Body.Close()
		if len(full.Runs) != 1 || full.Runs[0].Attempt != 0 {
			t.Fatalf("task %s ran again: %+v", id, full.Runs)
		}
	}
	for _, pid := range machinePIDs(data) {
		if alive(pid) {
			t.Fatalf("the released machines' process %d still runs", pid)
		}
	}
}
