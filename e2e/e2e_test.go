//go:build e2e

// Package e2e runs the built shoal binary the way a user does: a gateway
// and two workers as separate processes on loopback, workers finding the
// gateway by multicast on lo, the ww-scheduler's curl command, the CLI
// client, and signals.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var shoal string // the binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shoal-e2e")
	if err != nil {
		panic(err)
	}
	shoal = filepath.Join(dir, "shoal")
	// As `make build` does: the version from git, "dev" without it.
	build := exec.Command("go", "build", "-ldflags", "-X github.com/shoalmesh/shoal/pkg/internal/version.Version="+gitVersion(), "-o", shoal, "../cmd/shoal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build shoal: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gitVersion is `git describe` of the checkout, as the Makefile computes
// it, or "dev" where git or the repository is missing.
func gitVersion() string {
	out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}

// The built binary names the commit it was built from, not "dev".
func TestVersionOfBuiltBinary(t *testing.T) {
	want := gitVersion()
	if want == "dev" {
		t.Skip("no git checkout: the binary is dev")
	}
	out, err := exec.Command(shoal, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "shoal "+want {
		t.Errorf("shoal version: %q, want %q", got, "shoal "+want)
	}
}

// proc is a running shoal process.
type proc struct {
	cmd   *exec.Cmd
	start string // its start line
	done  chan error
}

// startNode runs `shoal args...` and waits for its start line.
func startNode(t testing.TB, args ...string) *proc {
	t.Helper()
	return startNodeEnv(t, nil, args...)
}

// startNodeEnv is startNode with env added to the process's environment.
func startNodeEnv(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(shoal, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stdout, _ := cmd.StdoutPipe()
	logf, _ := os.Create(filepath.Join(t.TempDir(), "stderr"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.start = <-lines:
	case err := <-p.done:
		p.done <- err // for the cleanup's wait
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("shoal %v exited before its start line: %v\n%s", args, err, b)
	case <-time.After(30 * time.Second):
		t.Fatalf("shoal %v printed no start line in 30s", args)
	}
	t.Logf("started: %s", p.start)
	return p
}

// freePort is a loopback address with a port free now, and not given
// before in this process: the kernel may hand a port just closed to the
// next listen on port 0, and two nodes given one port fail to start (a
// benchmark's raft member was once given another member's --http).
func freePort(t testing.TB) string {
	t.Helper()
	givenMu.Lock()
	defer givenMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !given[addr] {
			given[addr] = true
			return addr
		}
	}
}

// given are the addresses freePort gave.
var (
	givenMu sync.Mutex
	given   = map[string]bool{}
)

var (
	peerRE  = regexp.MustCompile(`peer=(\S+)`)
	addrsRE = regexp.MustCompile(` addrs=(\S+)`)
)

// cli runs a client command against the gateway and returns its stdout.
func cli(t *testing.T, gw string, args ...string) (string, int) {
	t.Helper()
	out, errs, code := runShoal(t, nil, "", append(args, "--gateway", gw)...)
	if code != 0 {
		t.Logf("shoal %v: exit %d, stderr: %s", args, code, errs)
	}
	return out, code
}

// runShoal runs the binary with env added to its environment and stdin
// given, and returns its stdout, stderr and exit code.
func runShoal(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(shoal, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

type taskJSON struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Completions int64  `json:"completions"`
	Result      string `json:"result"`
	Runs        []struct {
		Worker  string    `json:"worker"`
		Result  string    `json:"result"`
		Started time.Time `json:"started"`
		Attempt int       `json:"attempt"`
	} `json:"runs"`
}

func getTask(t *testing.T, gw, id string) taskJSON {
	t.Helper()
	resp, err := http.Get(gw + "/tasks/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v taskJSON
	json.NewDecoder(resp.Body).Decode(&v)
	return v
}

// mesh is a gateway and its workers, each a process of the binary.
type mesh struct {
	url     string // the gateway's HTTP API
	peer    string // the gateway's peer ID
	group   string // the multicast group the nodes discover each other on
	gateway *proc
	workers []*proc
}

// startMesh starts a gateway and n workers of 2 slots on loopback and
// waits until all n are in the gateway's pool. The workers dial the
// gateway by peer ID alone (discovery finds it), with its join token.
func startMesh(t *testing.T, n int) *mesh {
	t.Helper()
	m := &mesh{group: fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", 20000+rand.IntN(20000))}
	httpAddr := freePort(t)
	m.url = "http://" + httpAddr
	data := t.TempDir()
	m.gateway = startNode(t, "gateway", "--data", filepath.Join(data, "gw"), "--http", httpAddr, "--discover", m.group)
	m.peer = peerRE.FindStringSubmatch(m.gateway.start)[1]
	if !strings.Contains(m.gateway.start, "http="+m.url) {
		t.Fatalf("start line %q does not name the HTTP address", m.gateway.start)
	}
	token := filepath.Join(data, "gw", "join-token")
	for i := range n {
		m.workers = append(m.workers, startNode(t, "worker", "--data", filepath.Join(data, fmt.Sprint("w", i)),
			"--dial", m.peer, "--discover", m.group, "--slots", "2", "--join-token-file", token))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := cli(t, m.url, "workers", "--json")
		if strings.Count(out, `"id"`) == n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers never joined: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUserSession(t *testing.T) {
	m := startMesh(t, 2)
	gw, g, id, group := m.url, m.gateway, m.peer, m.group

	t.Run("peers", func(t *testing.T) {
		cmd := exec.Command(shoal, "peers", "--discover", group, "--wait", "1s")
		b, err := cmd.Output()
		out, code := string(b), cmd.ProcessState.ExitCode()
		if err != nil || code != 0 || !strings.Contains(out, id) || strings.Count(out, "12D3") < 3 {
			t.Fatalf("shoal peers: exit %d\n%s", code, out)
		}
	})

	t.Run("the ww-scheduler curl, unchanged", func(t *testing.T) {
		curl := exec.Command("curl", "-sS", "-X", "POST", "-F", "id=task1", "-F", "description=Hash puzzle", "-F", "complete=0",
			"-F", "duration=5", "-F", "start=1", "-F", "delay=2", "-F", "repeats=3", "-F", "wasm=@hash.wasm",
			"-F", "input=0", "-F", "difficulty=3", gw+"/tasks")
		curl.Dir = "../examples"
		out, err := curl.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"id": "task1"`) {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		again, _ := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-F", "id=task1",
			"-F", "wasm=@../examples/hash.wasm", gw+"/tasks").Output()
		if string(again) != "409" {
			t.Fatalf("a second POST with id task1: %s, want 409", again)
		}
		deadline := time.Now().Add(30 * time.Second)
		var v taskJSON
		for v = getTask(t, gw, "task1"); v.Status != "succeeded"; v = getTask(t, gw, "task1") {
			if v.Status == "failed" || time.Now().After(deadline) {
				t.Fatalf("task1: %+v", v)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if v.Completions != 3 || v.Result != "2832" {
			t.Fatalf("task1: %+v", v)
		}
	})

	t.Run("shoal submit --wait", func(t *testing.T) {
		out, code := cli(t, gw, "submit", "../wasm/hash/hash-cmd.wasm", "--id", "cli1", "--input", "0", "--difficulty", "3", "--repeats", "2", "--wait")
		if code != 0 || !strings.Contains(out, "2832") {
			t.Fatalf("submit --wait: exit %d\n%s", code, out)
		}
		out, code = cli(t, gw, "tasks")
		if code != 0 || !strings.Contains(out, "task1") || !strings.Contains(out, "cli1") {
			t.Fatalf("shoal tasks: exit %d\n%s", code, out)
		}
	})

	t.Run("bad input gets a clear error", func(t *testing.T) {
		out, _ := exec.Command("curl", "-sS", "-F", "start=abc", "-F", "wasm=@../examples/hash.wasm", gw+"/tasks").Output()
		if !strings.Contains(string(out), `"field": "start"`) {
			t.Fatalf("start=abc: %s", out)
		}
		_, code := cli(t, gw, "submit", "no-such-file.wasm")
		if code == 0 {
			t.Fatal("submit of a missing file succeeded")
		}
	})

	t.Run("SIGTERM stops every role with exit 0", func(t *testing.T) {
		g.cmd.Process.Signal(syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case err := <-g.done:
			if err != nil {
				t.Fatalf("gateway exit: %v", err)
			}
			g.done <- nil // for the cleanup
		case <-ctx.Done():
			t.Fatal("gateway did not stop on SIGTERM")
		}
	})
}
