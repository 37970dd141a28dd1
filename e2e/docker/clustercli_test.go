//go:build docker

package docker

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestDockerClusterCLI is TestClusterCLI (e2e/cluster_test.go) on the
// docker backend: shoal cluster create makes the cluster's docker network
// and starts its gateway on the host, listening on that network's bridge;
// its standby machine is a container of the image. hello-spawn is
// deployed and run, its two processes' lines streamed with timestamps and
// pids, and plain with --simple; list and status show the cluster; destroy
// leaves no container, network, record or gateway process. Whatever the
// test leaves on failure is removed: the gateway's log is printed first.
func TestDockerClusterCLI(t *testing.T) {
	image, bin := testImage(t), hostBinary(t)
	xdg, app := t.TempDir(), t.TempDir()
	name := fmt.Sprintf("cli%d", rand.IntN(1_000_000))
	network, record := "shoal-"+name, filepath.Join(xdg, "shoal", "clusters", name)
	sh := func(args ...string) (string, string, int) {
		t.Helper()
		return shoalCLI(t, bin, xdg, args...)
	}
	// Cleanups run last first: the log, destroy and the gateway, then the
	// containers, then the network they are on.
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", network).Run() })
	removeContainers(t, name)
	t.Cleanup(func() {
		if _, err := os.Stat(record); err != nil {
			return
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(record, "gateway.log"))
			t.Logf("the gateway's log:\n%s", tail(string(b), 60))
		}
		pid := gatewayPID(t, record)
		sh("cluster", "-n", name, "destroy", "--yes")
		if pid != 0 && syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	writeTestFile(t, filepath.Join(app, "cluster.toml"), "[cluster]\nbackend = \"docker\"\nstandby_machines = 1\nmachines_limit = 2\nmachines_timeout = \"2s\"\ncooldown = 0\n")
	writeTestFile(t, filepath.Join(app, "run.toml"), "[requirements]\ncores = \"1/16\"\n")

	out, _, code := sh("cluster", "create", "-n", name, filepath.Join(app, "cluster.toml"), "--discover", "none", "--docker-image", image)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Cluster %q is ready.", name)) || !strings.Contains(out, "cluster: ready m1: worker") {
		t.Fatalf("create: exit %d:\n%s", code, out)
	}
	running := docker(t, "ps", "--filter", "label="+clusterLabel+"="+name, "--filter", "status=running", "--format", "{{.Names}}")
	if running != network+"-m1" {
		t.Fatalf("running containers of the cluster %q, want its standby machine's alone (%s-m1)", running, network)
	}
	docker(t, "network", "inspect", network)

	if out, _, code := sh("cluster", "-n", name, "deploy", "../../examples/hello-spawn.wasm"); code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, out)
	}
	want := []string{"[0] parent start", "[1] child start", "[1] child received: parent", "[0] parent received: child", "[0] parent end", "[1] child end"}
	out, _, code = sh("cluster", "-n", name, "run", filepath.Join(app, "run.toml"))
	stamped := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} (\[\d\] .*)$`)
	var lines []string
	for _, m := range stamped.FindAllStringSubmatch(out, -1) {
		lines = append(lines, m[1])
	}
	if code != 0 || !slices.Equal(lines, want) {
		t.Fatalf("run: exit %d, lines %q, want %q:\n%s", code, lines, want, out)
	}
	out, errs, code := sh("cluster", "-n", name, "run", "--simple", filepath.Join(app, "run.toml"))
	plain := "parent start\nchild start\nchild received: parent\nparent received: child\nparent end\nchild end\n"
	if code != 0 || out != plain || errs != "" {
		t.Fatalf("run --simple: exit %d: %q %q", code, out, errs)
	}

	out, _, _ = sh("cluster", "list", "--json")
	var list []struct{ Name, Status, Gateway, Backend string }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("list --json: %v: %s", err, out)
	}
	if l := list[0]; l.Name != name || l.Status != "ready" || l.Backend != "docker" || !strings.HasPrefix(l.Gateway, "http://127.0.0.1:") {
		t.Fatalf("list: %+v", l)
	}
	if out, _, code := sh("cluster", "-n", name, "status"); code != 0 || !strings.Contains(out, "Backend:      docker") {
		t.Fatalf("status: exit %d: %s", code, out)
	}

	pid := gatewayPID(t, record)
	out, _, code = sh("cluster", "-n", name, "destroy", "--yes")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Cluster %q destroyed.", name)) {
		t.Fatalf("destroy: exit %d: %s", code, out)
	}
	// The gateway stops its machines: destroy's own sweep finds none.
	if strings.Contains(out, "left behind") {
		t.Errorf("the gateway's clean-up left a machine running:\n%s", out)
	}
	if left := docker(t, "ps", "-a", "--filter", "label="+clusterLabel+"="+name, "-q"); left != "" {
		t.Errorf("destroy left containers: %s", left)
	}
	if left := docker(t, "network", "ls", "--filter", "name=^"+network+"$", "-q"); left != "" {
		t.Errorf("destroy left the network %s (%s)", network, left)
	}
	if _, err := os.Stat(record); err == nil {
		t.Errorf("destroy left the cluster's record %s", record)
	}
	if pid == 0 || syscall.Kill(pid, 0) == nil {
		t.Errorf("destroy left the gateway (pid %d) running", pid)
	}
}

// shoalCLI runs bin with args, $XDG_CONFIG_HOME set to xdg and no colour,
// and returns its stdout, stderr and exit code.
func shoalCLI(t *testing.T, bin, xdg string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+xdg, "NO_COLOR=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("shoal %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return out.String(), errb.String(), code
}

// gatewayPID is the pid of the cluster's gateway, as its record says; 0
// when the record has none.
func gatewayPID(t *testing.T, record string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(record, "cluster.json"))
	if err != nil {
		return 0
	}
	var r struct{ PID int }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Errorf("%s: %v", record, err)
	}
	return r.PID
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
