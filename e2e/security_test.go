//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPrivateNetwork: `shoal keygen` writes a key; a gateway with it says
// in its start line that it is private and TCP only; a worker with the key
// joins (it needs no join token: the key proves it belongs), one without
// it never does.
func TestPrivateNetwork(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "swarm.key")
	if out, err := exec.Command(shoal, "keygen", key).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	if out, err := exec.Command(shoal, "keygen", key).CombinedOutput(); err == nil || !strings.Contains(string(out), "exists") {
		t.Fatalf("keygen over an existing key: %v %s", err, out)
	}
	group := fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", 20000+rand.IntN(20000))
	httpAddr := freePort(t)
	gw := "http://" + httpAddr
	g := startNode(t, "gateway", "--data", filepath.Join(dir, "gw"), "--http", httpAddr, "--discover", group, "--swarm-key", key)
	if !strings.Contains(g.start, "network=private(tcp-only)") || strings.Contains(g.start, "quic") {
		t.Fatalf("start line of a private gateway: %s", g.start)
	}
	id := peerRE.FindStringSubmatch(g.start)[1]
	startNode(t, "worker", "--dial", id, "--discover", group)
	startNode(t, "worker", "--dial", id, "--discover", group, "--swarm-key", key)
	waitFor(t, 20*time.Second, "the worker with the key", func() bool { return len(poolOf(t, gw)) >= 1 })
	time.Sleep(2 * time.Second) // give the keyless worker time to fail: it must never join
	if n := len(poolOf(t, gw)); n != 1 {
		t.Fatalf("%d workers joined, want only the one with the key", n)
	}
}

// TestJoinToken: a worker without the gateway's join token is refused and
// exits 1 saying which flag to give and where the token is; one started
// with the token from the gateway's start line joins.
func TestJoinToken(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freePort(t)
	gw := "http://" + httpAddr
	g := startNode(t, "gateway", "--data", filepath.Join(dir, "gw"), "--http", httpAddr, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0")
	token := regexp.MustCompile(`join-token=(\S+)`).FindStringSubmatch(g.start)
	addr := regexp.MustCompile(`addrs=([^, ]+)`).FindStringSubmatch(g.start)
	if token == nil || addr == nil {
		t.Fatalf("start line without join-token= or addrs=: %s", g.start)
	}
	dial := addr[1] + "/p2p/" + peerRE.FindStringSubmatch(g.start)[1]
	out, err := exec.Command(shoal, "worker", "--dial", dial, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "--join-token TOKEN or --join-token-file FILE") ||
		!strings.Contains(string(out), "DATA/join-token") {
		t.Fatalf("a worker without a token: %v\n%s\nwant exit 1 naming the flags and the file", err, out)
	}
	startNode(t, "worker", "--dial", dial, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--join-token", token[1])
	waitFor(t, 20*time.Second, "the worker with the token", func() bool { return len(poolOf(t, gw)) == 1 })
}
