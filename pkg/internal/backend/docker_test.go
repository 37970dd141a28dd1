//go:build docker

package backend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/backend"
)

// The docker backend against a gateway container, both of the image
// `make image` builds ($SHOAL_IMAGE, default shoal:dev), on a network of
// the test's own. It lives here, not in e2e/docker, because the backend
// is an internal package e2e/ cannot import; `make e2e` runs it.
//
//	make e2e    # or: make image && go test -tags docker -run Docker ./pkg/internal/backend/

func mustDocker(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

var startRE = regexp.MustCompile(`shoal gateway peer=(\S+).* join-token=(\S+)`)

// dockerGateway is a gateway container: its libp2p address on the
// network, its join token, its API on the host.
type dockerGateway struct {
	addr, token, api string
}

func mustGatewayContainer(tb testing.TB, image, network string) dockerGateway {
	tb.Helper()
	name := network + "-gateway"
	mustDocker(tb, "run", "-d", "--name", name, "--network", network, "-p", "127.0.0.1::8080", image,
		"gateway", "--data", "/data", "--listen", "/ip4/0.0.0.0/tcp/4001", "--discover", "none", "--http", "0.0.0.0:8080")
	tb.Cleanup(func() {
		if tb.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "40", name).CombinedOutput()
			tb.Logf("gateway's log:\n%s", out)
		}
		_ = exec.Command("docker", "rm", "-f", "-v", name).Run()
	})
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(50 * time.Millisecond) {
		out, _ := exec.Command("docker", "logs", name).CombinedOutput()
		if m = startRE.FindStringSubmatch(string(out)); m == nil && time.Now().After(deadline) {
			tb.Fatalf("gateway printed no start line:\n%s", out)
		}
	}
	ip := mustDocker(tb, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
	port := mustDocker(tb, "port", name, "8080/tcp")
	return dockerGateway{
		addr:  fmt.Sprintf("/ip4/%s/tcp/4001/p2p/%s", ip, m[1]),
		token: m[2],
		api:   "http://" + strings.Fields(port)[0],
	}
}

// labels returns the labels of the workers in the gateway's pool.
func (g dockerGateway) labels() [][]string {
	resp, err := http.Get(g.api + "/workers")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var ws []struct {
		Labels []string `json:"labels"`
	}
	if json.NewDecoder(resp.Body).Decode(&ws) != nil {
		return nil
	}
	out := make([][]string, len(ws))
	for i, w := range ws {
		out[i] = w.Labels
	}
	return out
}

// waitPool waits until the pool's machine labels are want, in any order.
func (g dockerGateway) waitPool(tb testing.TB, want ...string) {
	tb.Helper()
	var got []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = got[:0]
		for _, ls := range g.labels() {
			for _, l := range ls {
				if strings.HasPrefix(l, backend.MachineLabelPrefix) {
					got = append(got, l)
				}
			}
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("pool's machines %q, want %q", got, want)
		}
	}
}

func TestDocker(t *testing.T) {
	image := os.Getenv("SHOAL_IMAGE")
	if image == "" {
		image = "shoal:dev"
	}
	if out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", image).CombinedOutput(); err != nil {
		t.Fatalf("image %s: %v: %s(build it with make image; make e2e does)", image, err, out)
	}
	start := time.Now()
	network := fmt.Sprintf("shoal-bt%d", rand.IntN(1_000_000))
	mustDocker(t, "network", "create", network)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", network).Run() })
	gw := mustGatewayContainer(t, image, network)
	t.Logf("[%5.2fs] gateway up", time.Since(start).Seconds())

	cluster := strings.TrimPrefix(network, "shoal-")
	exited := make(exits, 2)
	d := backend.NewDocker(backend.DockerConfig{Image: image, Network: network, Cluster: cluster, Grace: 2 * time.Second, Exited: exited.record})
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	ctx := context.Background()
	spec := func(id string) backend.WorkerSpec {
		return backend.WorkerSpec{Gateway: gw.addr, JoinToken: gw.token, Labels: []string{backend.MachineLabel(id)}, Slots: 1}
	}
	for _, id := range []string{"m1", "m2"} {
		if err := d.Start(ctx, id, spec(id)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("[%5.2fs] 2 machines started", time.Since(start).Seconds())
	gw.waitPool(t, backend.MachineLabel("m1"), backend.MachineLabel("m2"))
	t.Logf("[%5.2fs] their workers joined", time.Since(start).Seconds())
	mustList(t, d, "m1", "m2")
	mustList(t, backend.NewDocker(backend.DockerConfig{Network: network, Cluster: cluster + "x"}))
	if cfg := mustDocker(t, "inspect", d.Container("m1")); strings.Contains(cfg, gw.token) {
		t.Fatal("the join token is in the container's config")
	}

	// A container killed from outside is reported and removed.
	mustDocker(t, "kill", d.Container("m2"))
	select {
	case e := <-exited:
		if !strings.HasPrefix(e, "m2: container "+d.Container("m2")+" exited with status 137") {
			t.Fatalf("Exited got %q", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Exited not called for a killed container")
	}
	gw.waitPool(t, backend.MachineLabel("m1"))
	mustList(t, d, "m1")

	// A Docker made again (a gateway started again) lists m1 and stops it.
	again := backend.NewDocker(backend.DockerConfig{Image: image, Network: network, Cluster: cluster, Exited: exited.record})
	mustList(t, again, "m1")
	if err := again.Stop(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	t.Logf("[%5.2fs] m1 stopped", time.Since(start).Seconds())
	gw.waitPool(t)
	mustList(t, again)
	if out := mustDocker(t, "ps", "-a", "-q", "--filter", "name="+d.Container("m1")); out != "" {
		t.Fatalf("m1's container is still there: %s", out)
	}
	if err := again.Stop(ctx, "m1"); err != nil {
		t.Fatalf("Stop of a stopped machine: %v", err)
	}
	// d still watches m1, which stopped without its Stop: it reports it.
	select {
	case e := <-exited:
		t.Logf("the first backend reports m1, stopped by the second: %s", e)
	case <-time.After(10 * time.Second):
		t.Fatal("the first backend did not see m1 go")
	}
	if err := d.Stop(ctx, "m1"); err != nil {
		t.Fatalf("Stop of a removed machine: %v", err)
	}
	noExit(t, exited)
}
