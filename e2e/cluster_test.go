//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// shoalIn runs the binary with $XDG_CONFIG_HOME set to xdg and stdin
// given, and returns its stdout, stderr and exit code.
func shoalIn(t *testing.T, xdg, stdin string, args ...string) (string, string, int) {
	t.Helper()
	out, errs, code := runShoal(t, []string{"XDG_CONFIG_HOME=" + xdg, "NO_COLOR=1"}, stdin, args...)
	t.Logf("shoal %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	return out, errs, code
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The shoal cluster lifecycle as a user goes through it, on the local
// backend: create a cluster from a config (its standby machine comes up),
// deploy an application with a data directory, run it with its config
// (logs streamed with timestamps, plain with --simple, its exit code
// passed on, a bad config named by file, line and key), watch it with
// list and status, clean up, and destroy it: nothing it made is left.
func TestClusterCLI(t *testing.T) {
	xdg, app := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(app, "data", "greeting.txt"), "hello from a data file\n")
	writeFile(t, filepath.Join(app, "cluster.toml"), "[cluster]\nstandby_machines = 1\nmachines_limit = 3\nmachines_timeout = \"1s\"\ncooldown = 0\n")
	writeFile(t, filepath.Join(app, "run.toml"), "args = [\"cat\", \"greeting.txt\"]\n\n[requirements]\ncores = \"1/16\"\nmemory = \"8 MiB\"\n\n[cluster]\nmachines_limit = 2\n")
	writeFile(t, filepath.Join(app, "missing.toml"), "args = [\"cat\", \"missing.txt\"]\n")
	writeFile(t, filepath.Join(app, "bad.toml"), "args = []\n\n[cluster]\nstandby_machines = 5\n")
	record := filepath.Join(xdg, "shoal", "clusters", "demo")
	t.Cleanup(func() {
		if _, err := os.Stat(record); err == nil {
			shoalIn(t, xdg, "", "cluster", "-n", "demo", "destroy", "--yes")
		}
	})

	if _, errs, code := shoalIn(t, xdg, "", "cluster", "create", "-n", "bad", "--backend", "k8s"); code != 1 || !strings.Contains(errs, `backend "k8s": a cluster's machines come from local or docker`) {
		t.Fatalf("create with an unknown backend: exit %d: %s", code, errs)
	}
	out, _, code := shoalIn(t, xdg, "", "cluster", "create", "-n", "demo", filepath.Join(app, "cluster.toml"), "--discover", "none")
	if code != 0 || !strings.Contains(out, `Cluster "demo" is ready.`) || !strings.Contains(out, "cluster: ready m1: worker") {
		t.Fatalf("create: exit %d:\n%s", code, out)
	}
	if _, errs, code := shoalIn(t, xdg, "", "cluster", "create", "-n", "demo"); code != 1 || !strings.Contains(errs, `cluster "demo" exists`) {
		t.Fatalf("a second create: exit %d: %s", code, errs)
	}
	out, _, _ = shoalIn(t, xdg, "", "cluster", "list", "--json")
	var list []struct {
		Name, Status, Gateway, Backend string
		Workers                        struct{ Busy, Standby int }
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("list --json: %v: %s", err, out)
	}
	if l := list[0]; l.Name != "demo" || l.Status != "ready" || l.Backend != "local" || l.Workers.Standby != 1 || !strings.HasPrefix(l.Gateway, "http://127.0.0.1:") {
		t.Fatalf("list: %+v", l)
	}
	if _, errs, code := shoalIn(t, xdg, "", "cluster", "-n", "demo", "run", filepath.Join(app, "run.toml")); code != 1 || !strings.Contains(errs, "nothing is deployed") {
		t.Fatalf("run before deploy: exit %d: %s", code, errs)
	}
	out, _, code = shoalIn(t, xdg, "", "cluster", "-n", "demo", "deploy", "../examples/jobfile.wasm", "--directory", filepath.Join(app, "data"))
	if code != 0 || !strings.Contains(out, "Uploading 1 files of") {
		t.Fatalf("deploy: exit %d: %s", code, out)
	}

	out, errs, code := shoalIn(t, xdg, "", "cluster", "-n", "demo", "run", filepath.Join(app, "run.toml"))
	if code != 0 || !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} \[0\] hello from a data file$`).MatchString(out) {
		t.Fatalf("run: exit %d: %q", code, out)
	}
	for _, want := range []string{"Uploading config...", "Starting application jobfile.wasm...", "Reserving resources for 0 on"} {
		if !strings.Contains(errs, want) {
			t.Fatalf("run's stderr lacks %q:\n%s", want, errs)
		}
	}
	out, errs, code = shoalIn(t, xdg, "", "cluster", "-n", "demo", "run", "--simple", filepath.Join(app, "run.toml"))
	if code != 0 || out != "hello from a data file\n" || errs != "" {
		t.Fatalf("run --simple: exit %d: %q %q", code, out, errs)
	}
	_, errs, code = shoalIn(t, xdg, "", "cluster", "-n", "demo", "run", filepath.Join(app, "missing.toml"))
	if code != 1 || !strings.Contains(errs, "missing.txt") {
		t.Fatalf("run of a failing application: exit %d, want its own 1: %s", code, errs)
	}
	_, errs, code = shoalIn(t, xdg, "", "cluster", "-n", "demo", "run", filepath.Join(app, "bad.toml"))
	if code != 1 || !strings.Contains(errs, "bad.toml:4: cluster.standby_machines: 5 is more than machines_limit (3)") {
		t.Fatalf("run of a bad config: exit %d: %s", code, errs)
	}

	out, _, _ = shoalIn(t, xdg, "", "cluster", "-n", "demo", "status", "--json")
	var st struct {
		Status      string
		Application struct{ File string }
		Running     struct{ Status string }
		Cluster     api.Cluster
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v: %s", err, out)
	}
	if st.Status != "ready" || st.Application.File != "jobfile.wasm" || st.Running.Status != "failed" || st.Cluster.Task != "" || st.Cluster.MachinesLimit != 3 {
		t.Fatalf("status: %+v", st)
	}
	if out, _, code := shoalIn(t, xdg, "", "cluster", "-n", "demo", "status"); code != 0 || !strings.Contains(out, "(the cluster's own)") || !strings.Contains(out, "m1") {
		t.Fatalf("status: exit %d: %s", code, out)
	}
	if out, _, code := shoalIn(t, xdg, "", "cluster", "-n", "demo", "stop"); code != 0 || !strings.Contains(out, `Nothing is running on cluster "demo".`) {
		t.Fatalf("stop with nothing running: exit %d: %s", code, out)
	}
	if out, _, code := shoalIn(t, xdg, "", "cluster", "-n", "demo", "clean-up"); code != 0 || !strings.Contains(out, "1 machine(s) released") {
		t.Fatalf("clean-up: exit %d: %s", code, out)
	}

	b, err := os.ReadFile(filepath.Join(record, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ PID int }
	json.Unmarshal(b, &rec)
	if _, errs, code := shoalIn(t, xdg, "no\n", "cluster", "-n", "demo", "destroy"); code != 1 || !strings.Contains(errs, "not confirmed") {
		t.Fatalf("destroy, not confirmed: exit %d: %s", code, errs)
	}
	if !alive(rec.PID) {
		t.Fatal("an unconfirmed destroy stopped the gateway")
	}
	pids := machinePIDs(filepath.Join(record, "gateway"))
	if out, _, code := shoalIn(t, xdg, "demo\n", "cluster", "-n", "demo", "destroy"); code != 0 || !strings.Contains(out, `Cluster "demo" destroyed.`) {
		t.Fatalf("destroy: exit %d: %s", code, out)
	}
	if _, err := os.Stat(record); err == nil {
		t.Fatal("destroy left the cluster's record")
	}
	for _, pid := range append(pids, rec.PID) {
		if alive(pid) {
			t.Fatalf("destroy left process %d running", pid)
		}
	}
	if out, _, _ := shoalIn(t, xdg, "", "cluster", "list"); !strings.Contains(out, "No clusters") {
		t.Fatalf("list after destroy: %s", out)
	}
}
