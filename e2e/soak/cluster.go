package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is a shoal process: its arguments, so that it can be started again
// after a kill, and its current process.
type node struct {
	name string
	bin  string
	args []string
	log  string // its stderr, appended across restarts

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	start string // its start line
}

// run starts the node and waits for its start line.
func (n *node) run() error {
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(n.bin, n.args...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case line := <-lines:
		n.mu.Lock()
		n.cmd, n.done, n.start = cmd, done, line
		n.mu.Unlock()
		return nil
	case <-done:
		return fmt.Errorf("%s exited before its start line (see %s)", n.name, n.log)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("%s printed no start line in 30 s (see %s)", n.name, n.log)
	}
}

// kill sends SIGKILL and waits for the process to end.
func (n *node) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop sends SIGTERM and waits, then SIGKILL after grace.
func (n *node) stop(grace time.Duration) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		n.kill()
	}
}

func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd.Process.Pid
}

var (
	peerRE  = regexp.MustCompile(`peer=(\S+)`)
	addrsRE = regexp.MustCompile(`addrs=(\S+)`)
	httpRE  = regexp.MustCompile(`http=(\S+)`)
)

// cluster is one gateway and its workers on 127.0.0.1.
type cluster struct {
	gw      *node
	workers []*node
	url     string // the gateway's HTTP API
	db      string // its database file
}

// startCluster starts a gateway and n workers that dial it, with their
// data and logs under dir.
func startCluster(bin, dir string, n, slots int, maxOutput int) (*cluster, error) {
	gwData := filepath.Join(dir, "gateway")
	c := &cluster{db: filepath.Join(gwData, "gateway.db")}
	c.gw = &node{name: "gateway", bin: bin, log: filepath.Join(dir, "gateway.log"), args: []string{"gateway",
		"--data", gwData, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0",
		"--max-output", strconv.Itoa(maxOutput)}}
	if err := c.gw.run(); err != nil {
		return nil, err
	}
	peer, addrs, url := peerRE.FindStringSubmatch(c.gw.start), addrsRE.FindStringSubmatch(c.gw.start), httpRE.FindStringSubmatch(c.gw.start)
	if peer == nil || addrs == nil || url == nil {
		c.gw.kill()
		return nil, fmt.Errorf("the gateway's start line has no peer, addrs or http: %q", c.gw.start)
	}
	c.url = url[1]
	dial := strings.Split(addrs[1], ",")[0] + "/p2p/" + peer[1]
	for i := range n {
		w := &node{name: fmt.Sprint("worker", i+1), bin: bin, log: filepath.Join(dir, fmt.Sprintf("worker%d.log", i+1)), args: []string{"worker",
			"--data", filepath.Join(dir, fmt.Sprint("worker", i+1)), "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0",
			"--dial", dial, "--slots", strconv.Itoa(slots), "--join-token-file", filepath.Join(gwData, "join-token")}}
		if err := w.run(); err != nil {
			c.stop()
			return nil, err
		}
		c.workers = append(c.workers, w)
	}
	return c, nil
}

func (c *cluster) stop() {
	for _, w := range c.workers {
		w.stop(5 * time.Second)
	}
	c.gw.stop(15 * time.Second)
}

// rssMB is the gateway's resident set (VmRSS), in MiB.
func (c *cluster) rssMB() float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.gw.pid()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// dbMB is the size of the gateway's database file, in MiB.
func (c *cluster) dbMB() float64 {
	fi, err := os.Stat(c.db)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}
