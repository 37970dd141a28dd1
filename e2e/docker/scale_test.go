//go:build docker

package docker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// The docker backend's labels (pkg/internal/backend/docker.go), by which
// the test finds a cluster's containers.
const (
	clusterLabel = "shoal.cluster"
	machineLabel = "shoal.machine"
)

// TestDockerCluster is issue 15's scenario on the docker backend: a
// gateway process on the host, listening on a test network's bridge
// address, scales worker containers of the image from its one standby
// machine to three for a burst of three long tasks, runs each exactly
// once, and gives the two extra machines back after the timeout, their
// containers removed. The third machine's first start fails (a container
// of its name is in the way, as a name clash would have it) and is tried
// again and comes; a gateway whose image does not exist reports each
// failed start, retries it with backoff and gives the machine up. Every
// container and the network are removed, also on failure.
func TestDockerCluster(t *testing.T) {
	image, bin := testImage(t), hostBinary(t)
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	network := fmt.Sprintf("shoal-sc%d", rand.IntN(1_000_000))
	docker(t, "network", "create", network)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", network).Run() })
	bridge := docker(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", network)
	cluster := strings.TrimPrefix(network, "shoal-")
	removeContainers(t, cluster)

	// A running container named as machine m3's will be: its first start
	// fails until the test removes it.
	blocker := "shoal-" + cluster + "-m3"
	docker(t, "run", "-d", "--name", blocker, "--network", "none", image, "gateway", "--data", "/data", "--discover", "none")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "-v", blocker).Run() })

	gw := startHostGateway(t, bin, "--listen", "/ip4/"+bridge+"/tcp/0", "--backend", "docker",
		"--docker-image", image, "--docker-network", network, "--cluster", cluster,
		"--standby-machines", "1", "--machines-limit", "3", "--machines-timeout", "2s", "--cooldown", "0s", "--machine-slots", "1")
	say("gateway on the host, libp2p on %s (network %s's bridge), API %s", bridge, network, gw.api)
	timeline := func(c api.Cluster) string {
		var b strings.Builder
		for _, d := range c.Decisions {
			fmt.Fprintf(&b, "  [%6.2fs] %-8s %-3s %s\n", d.Time.Sub(start).Seconds(), d.Kind, d.Machine, d.Reason)
		}
		return b.String()
	}
	waitCluster := func(what string, limit time.Duration, cond func(api.Cluster) bool) api.Cluster {
		t.Helper()
		var c api.Cluster
		for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
			if gw.getJSON("/cluster", &c) && cond(c) {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after %v: machines %+v\n%s", what, limit, c.Machines, timeline(c))
			}
		}
	}
	waitCluster("ready standby machine", 30*time.Second, func(c api.Cluster) bool {
		return len(c.Machines) == 1 && c.Machines[0].Phase == "ready"
	})
	say("standby machine m1 ready: containers %v", containers(t, cluster))

	wasm, err := os.ReadFile("../../wasm/hash/hash-cmd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	mod := gw.putModule(t, wasm)
	burst := time.Now()
	var ids []string
	var specs []any
	for i := range 3 {
		ids = append(ids, fmt.Sprint("burst", i))
		specs = append(specs, map[string]any{"id": ids[i], "module": "sha256:" + mod, "args": []string{"0", "6"}}) // about 3 s each
	}
	gw.postJSON(t, "/tasks/batch", map[string]any{"tasks": specs}, http.StatusCreated)
	say("a burst of 3 tasks of about 3 s")

	waitCluster("failed start of m3", 30*time.Second, func(c api.Cluster) bool { return has(c, "failed", "m3") })
	docker(t, "rm", "-f", "-v", blocker)
	say("m3's start failed; the container in its way removed")

	peak := 0
	deadline := time.Now().Add(40 * time.Second)
	for _, id := range ids {
		for {
			var c api.Cluster
			if gw.getJSON("/cluster", &c) {
				peak = max(peak, len(c.Machines))
			}
			var v taskJSON
			gw.getJSON("/tasks/"+id, &v)
			if v.Status == "succeeded" {
				break
			}
			if v.Status == "failed" || v.Status == "canceled" || time.Now().After(deadline) {
				t.Fatalf("task %s: %+v\n%s", id, v, timeline(c))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	say("the burst done in %.1f s; at most %d machines; containers %v", time.Since(burst).Seconds(), peak, containers(t, cluster))

	c := waitCluster("scale-down to the standby machine", 30*time.Second, func(c api.Cluster) bool {
		return len(c.Machines) == 1 && count(c, "released") == 2
	})
	say("back to 1 machine (%s); containers %v", c.Machines[0].ID, containers(t, cluster))
	fmt.Printf("timeline:\n%s", timeline(c))

	if n := count(c, "ready"); count(c, "start") != 3 || n != 3 || count(c, "release") != 2 || count(c, "lost") != 0 {
		t.Fatalf("decisions: %d starts, %d ready, %d releases, %d lost; want 3 starts, 3 ready, 2 releases, none lost",
			count(c, "start"), n, count(c, "release"), count(c, "lost"))
	}
	if !has(c, "retry", "m3") || !has(c, "ready", "m3") {
		t.Fatalf("m3 was not retried and ready:\n%s", timeline(c))
	}
	workers := map[string]bool{}
	for _, id := range ids {
		var v taskJSON
		gw.getJSON("/tasks/"+id, &v)
		if len(v.Runs) != 1 || v.Runs[0].Attempt != 0 || v.Completions != 1 {
			t.Fatalf("task %s ran other than once: %d completions, runs %+v", id, v.Completions, v.Runs)
		}
		workers[v.Runs[0].Worker] = true
	}
	say("every task ran once, on %d workers", len(workers))
	if got, want := containers(t, cluster), []string{c.Machines[0].ID}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("containers of the cluster %v, want the standby machine's alone %v", got, want)
	}

	// A gateway whose image does not exist (its registry is a closed
	// port on loopback, so docker fails at once and reaches out nowhere).
	bad := cluster + "bad"
	removeContainers(t, bad)
	badGW := startHostGateway(t, bin, "--listen", "/ip4/"+bridge+"/tcp/0", "--backend", "docker",
		"--docker-image", "127.0.0.1:9/shoal-missing:dev", "--docker-network", network, "--cluster", bad,
		"--standby-machines", "1", "--machines-limit", "1", "--cooldown", "0s")
	t0 := time.Now()
	for c = (api.Cluster{}); count(c, "forget") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Since(t0) > 20*time.Second {
			t.Fatalf("no machine given up after 20 s:\n%s", timeline(c))
		}
		badGW.getJSON("/cluster", &c)
	}
	say("a gateway with a missing image:\n%s", timeline(c))
	for _, d := range c.Decisions {
		if d.Kind == "failed" && !strings.Contains(d.Reason, "shoal-missing") {
			t.Errorf("failed start reported as %q, which does not name the image", d.Reason)
		}
	}
	if count(c, "failed") < 3 || count(c, "retry") != 2 {
		t.Fatalf("want 3 failed starts and 2 retries before the machine is given up:\n%s", timeline(c))
	}
	if got := containers(t, bad); len(got) != 0 {
		t.Fatalf("containers of failed starts left: %v", got)
	}
}

// testImage is $SHOAL_IMAGE (default shoal:dev), which must exist.
func testImage(tb testing.TB) string {
	tb.Helper()
	image := os.Getenv("SHOAL_IMAGE")
	if image == "" {
		image = "shoal:dev"
	}
	if out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", image).CombinedOutput(); err != nil {
		tb.Fatalf("image %s: %v: %s(build it with make image; make e2e does)", image, err, out)
	}
	return image
}

// hostBinary is the binary the image holds, bin/shoal as `make image`
// leaves it ($SHOAL_BINARY overrides), run on the host as the gateway: the
// docker backend drives the docker CLI, which a gateway container lacks.
func hostBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("SHOAL_BINARY")
	if bin == "" {
		bin = "../../bin/shoal"
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("the shoal binary: %v (make image builds it)", err)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		tb.Fatal(err)
	}
	return abs
}

// hostGateway is a gateway process on the host.
type hostGateway struct {
	*cluster // for its API helpers; only api is set
}

// startHostGateway runs `bin gateway` with its own data and loopback API,
// no discovery, and args; it waits for its start line, and kills it when
// the test ends, printing its log first if the test failed.
func startHostGateway(tb testing.TB, bin string, args ...string) hostGateway {
	tb.Helper()
	dir := tb.TempDir()
	port := freePort(tb)
	args = append([]string{"gateway", "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:" + port, "--discover", "none"}, args...)
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = logf
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if tb.Failed() {
			b, _ := os.ReadFile(logf.Name())
			tb.Logf("gateway %v's log:\n%s", args, tail(string(b), 40))
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-line:
	case <-done:
		b, _ := os.ReadFile(logf.Name())
		tb.Fatalf("gateway %v exited:\n%s", args, b)
	case <-time.After(30 * time.Second):
		tb.Fatalf("gateway %v printed no start line in 30 s", args)
	}
	return hostGateway{&cluster{api: "http://127.0.0.1:" + port}}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// putModule uploads a module and returns its sha256.
func (g hostGateway) putModule(tb testing.TB, wasm []byte) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPut, g.api+"/modules", bytes.NewReader(wasm))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m api.Module
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.SHA256 == "" {
		tb.Fatalf("PUT /modules: %s: %v", resp.Status, err)
	}
	return m.SHA256
}

func (g hostGateway) postJSON(tb testing.TB, path string, body any, want int) {
	tb.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(g.api+path, "application/json", bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		out, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST %s: %s: %s", path, resp.Status, out)
	}
}

// containers lists the machines whose containers the cluster has, by the
// docker backend's labels: running or not.
func containers(tb testing.TB, cluster string) []string {
	tb.Helper()
	out := docker(tb, "ps", "-a", "--filter", "label="+clusterLabel+"="+cluster, "--format", `{{.Label "`+machineLabel+`"}}`)
	return strings.Fields(out)
}

// removeContainers removes the cluster's containers when the test ends:
// the machines outlive their gateway, which is killed.
func removeContainers(tb testing.TB, cluster string) {
	tb.Cleanup(func() {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+clusterLabel+"="+cluster).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
		}
	})
}

func count(c api.Cluster, kind string) int {
	n := 0
	for _, d := range c.Decisions {
		if d.Kind == kind {
			n++
		}
	}
	return n
}

func has(c api.Cluster, kind, machine string) bool {
	for _, d := range c.Decisions {
		if d.Kind == kind && d.Machine == machine {
			return true
		}
	}
	return false
}
