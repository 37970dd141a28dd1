//go:build docker

// Package docker runs docker/compose.yaml for real: the image `make image`
// builds, a gateway and three workers in containers on a bridge network,
// workers finding the gateway by multicast on the network's interface. It
// drives the cluster through the gateway's published API and faults it
// with the docker CLI: kill, network disconnect, restart.
//
//	make e2e
package docker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

const composeFile = "../../docker/compose.yaml"

// cluster is one compose project of docker/compose.yaml.
type cluster struct {
	compose []string // docker compose, or docker-compose
	project string
	env     []string
	api     string // the gateway's API as published on the host
}

// composeCommand is `docker compose` (v2) when it works, else
// docker-compose (v1); $SHOAL_COMPOSE overrides both.
func composeCommand(tb testing.TB) []string {
	tb.Helper()
	if s := os.Getenv("SHOAL_COMPOSE"); s != "" {
		return strings.Fields(s)
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	tb.Fatal("neither `docker compose` nor docker-compose is installed")
	return nil
}

// MustStartCluster brings a project up under a name of its own, with the
// API on a free host port, and takes it down (volumes too) when the test
// ends; after a failure it prints the containers' logs first.
func MustStartCluster(tb testing.TB) *cluster {
	tb.Helper()
	image := testImage(tb)
	port := freePort(tb)
	c := &cluster{
		compose: composeCommand(tb),
		project: fmt.Sprintf("shoale2e%d", rand.IntN(1_000_000)),
		env:     append(os.Environ(), "SHOAL_IMAGE="+image, "SHOAL_HTTP_PORT="+port),
		api:     "http://127.0.0.1:" + port,
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			out, _ := c.run("logs", "--no-color", "--tail", "60")
			tb.Logf("logs of project %s:\n%s", c.project, out)
		}
		if out, err := c.run("down", "-v", "--remove-orphans", "-t", "2"); err != nil {
			tb.Errorf("down: %v\n%s", err, out)
		}
	})
	if out, err := c.run("up", "-d"); err != nil {
		tb.Fatalf("up: %v\n%s", err, out)
	}
	return c
}

func (c *cluster) run(args ...string) (string, error) {
	argv := append([]string{}, c.compose[1:]...)
	argv = append(append(argv, "-f", composeFile, "-p", c.project), args...)
	cmd := exec.Command(c.compose[0], argv...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// container returns the ID of the container of a service.
func (c *cluster) container(tb testing.TB, service string) string {
	tb.Helper()
	out, err := c.run("ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" || strings.Contains(id, "\n") {
		tb.Fatalf("container of %s: %v: %q", service, err, out)
	}
	return id
}

func docker(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

var peerRE = regexp.MustCompile(`shoal (?:gateway|worker) peer=(\S+)`)

// peerOf reads a node's peer ID from its start line in the container's log.
func peerOf(tb testing.TB, container string) string {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("docker", "logs", container).CombinedOutput()
		if m := peerRE.FindSubmatch(out); m != nil {
			return string(m[1])
		}
		if time.Now().After(deadline) {
			tb.Fatalf("container %s printed no start line:\n%s", container, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peerAfterStarts waits for the container's log to hold n start lines
// (one per start) and returns the peer ID of the last.
func peerAfterStarts(tb testing.TB, container string, n int) string {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("docker", "logs", container).CombinedOutput()
		if m := peerRE.FindAllSubmatch(out, -1); len(m) >= n {
			return string(m[len(m)-1][1])
		}
		if time.Now().After(deadline) {
			tb.Fatalf("container %s printed fewer than %d start lines:\n%s", container, n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// client bounds every call of the tests' own: a container cut off its
// network may leave a call to its published port without an answer.
var client = &http.Client{Timeout: 10 * time.Second}

// getJSON decodes a GET of the API; false while the gateway is down.
func (c *cluster) getJSON(path string, v any) bool {
	resp, err := client.Get(c.api + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

type workerJSON struct {
	ID   string `json:"id"`
	Used int    `json:"used"`
}

type runJSON struct {
	Index   int       `json:"index"`
	Attempt int       `json:"attempt"`
	Status  string    `json:"status"`
	Worker  string    `json:"worker"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Result  string    `json:"result"`
	Error   string    `json:"error"`
}

type taskJSON struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Completions int64     `json:"completions"`
	Repeats     int       `json:"repeats"`
	Difficulty  int       `json:"difficulty"`
	Runs        []runJSON `json:"runs"`
}

// pool returns the workers in the gateway's pool by peer ID.
func (c *cluster) pool() map[string]workerJSON {
	var ws []workerJSON
	if !c.getJSON("/workers", &ws) {
		return nil
	}
	m := make(map[string]workerJSON, len(ws))
	for _, w := range ws {
		m[w.ID] = w
	}
	return m
}

func (c *cluster) tasks() []taskJSON {
	var ts []taskJSON
	c.getJSON("/tasks?limit=1000", &ts) // every task (a page holds 100 by default)
	return ts
}

func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			tb.Fatalf("no %s after %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// post submits one task as the ww-scheduler's curl does: a multipart form
// with the module as a file part.
func (c *cluster) post(tb testing.TB, wasm []byte, fields map[string]string) {
	code, err := c.submit(wasm, fields)
	if err != nil {
		tb.Error(err)
		return
	}
	if code != http.StatusCreated {
		tb.Errorf("submit %s: %d %s", fields["id"], code, http.StatusText(code))
	}
}

// submit is post's call, its status code returned.
func (c *cluster) submit(wasm []byte, fields map[string]string) (int, error) {
	var body bytes.Buffer
	const boundary = "shoal-e2e-boundary"
	for k, v := range fields {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, k, v)
	}
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"wasm\"; filename=\"hash.wasm\"\r\nContent-Type: application/wasm\r\n\r\n", boundary)
	body.Write(wasm)
	fmt.Fprintf(&body, "\r\n--%s--\r\n", boundary)
	resp, err := client.Post(c.api+"/tasks", "multipart/form-data; boundary="+boundary, &body)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
