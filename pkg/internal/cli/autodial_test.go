package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// node is `shoal ROLE` running in-process until stop or the test's end.
type node struct {
	stdout, stderr syncBuffer
	fields         map[string]string // of the start line
	stop           func() int        // stops it and returns its exit code
}

// MustStartNode runs `shoal args...` and waits for its start line.
func MustStartNode(tb testing.TB, args ...string) *node {
	tb.Helper()
	n := &node{fields: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, args, &n.stdout, &n.stderr) }()
	var code *int
	n.stop = func() int {
		if code == nil {
			cancel()
			c := <-done
			code = &c
		}
		return *code
	}
	tb.Cleanup(func() { n.stop() })
	deadline := time.Now().Add(clientTestTimeout)
	for !strings.Contains(n.stdout.String(), "\n") {
		select {
		case c := <-done:
			code = &c
			tb.Fatalf("shoal %v exited %d before its start line: %s", args, c, n.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("shoal %v: no start line: %s", args, n.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, f := range strings.Fields(n.stdout.String()) {
		if k, v, ok := strings.Cut(f, "="); ok {
			n.fields[k] = v
		}
	}
	return n
}

// MustGroup returns a discovery group on lo on a port no other test uses.
func MustGroup(tb testing.TB) string {
	tb.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", c.LocalAddr().(*net.UDPAddr).Port)
}

// MustHost is a libp2p host on loopback with key (nil: a new one), on the
// private network of psk (nil: none).
func MustHost(tb testing.TB, key crypto.PrivKey, psk []byte) host.Host {
	tb.Helper()
	if key == nil {
		var err error
		if key, _, err = crypto.GenerateEd25519Key(nil); err != nil {
			tb.Fatal(err)
		}
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key, PSK: psk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// poolIDs lists the peer IDs of the workers in a gateway's pool.
func poolIDs(tb testing.TB, api string) []string {
	resp, err := http.Get(api + "/workers")
	if err != nil {
		return nil // restarting
	}
	defer resp.Body.Close()
	var ws []struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&ws)
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids
}

// admits reports whether worker serves from on a new connection: the
// dialer's handshake may complete before the worker's gater refuses the
// connection, so only an answer on a stream (identify's, which every host
// serves) shows it was admitted.
func admits(worker peer.AddrInfo, from host.Host) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if from.Connect(ctx, worker) != nil {
		return false
	}
	s, err := from.NewStream(ctx, worker.ID, protocol.ID("/ipfs/id/1.0.0"))
	if err != nil {
		return false
	}
	defer s.Close()
	var one [1]byte
	n, _ := s.Read(one[:])
	return n == 1
}

// TestWorkerFindsItsGateway starts a worker without --dial among peers
// that answer discovery without being gateways: an open libp2p node and
// another worker still looking for a gateway. Once a gateway of its
// namespace starts, the worker chooses it, joins its pool and admits it,
// and nobody else; after the gateway restarts (same data, same peer ID)
// the worker is back in its pool without choosing again. All are on a
// private network, where workers need no join token (a token would name
// their gateway, and leave nothing to choose).
func TestWorkerFindsItsGateway(t *testing.T) {
	t.Parallel()
	group, ns := MustGroup(t), "autodial"
	keyFile := MustWriteFile(t, "swarm.key", mustSwarmKey(t))
	psk, err := p2p.LoadSwarmKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	discovery := []string{"--discover", group, "--ns", ns, "--swarm-key", keyFile}

	decoy := MustHost(t, nil, psk)
	d, err := p2p.New(p2p.Config{Group: mustParseGroup(t, group), Namespace: ns, Key: decoy.Peerstore().PrivKey(decoy.ID()), Addrs: decoy.Addrs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("decoy's discovery: %v", err)
		}
	})

	early := MustStartNode(t, append([]string{"worker", "--slots", "1"}, discovery...)...)
	if got := early.fields["gateway"]; got != "discover(ns=autodial)" {
		t.Errorf("start line says gateway=%s, want discover(ns=autodial)", got)
	}
	gwData := t.TempDir()
	gwArgs := append([]string{"gateway", "--data", gwData, "--http", "127.0.0.1:0"}, discovery...)
	gw := MustStartNode(t, gwArgs...)
	late := MustStartNode(t, append([]string{"worker", "--slots", "1"}, discovery...)...)
	api, gwID := gw.fields["http"], gw.fields["peer"]

	want := []string{early.fields["peer"], late.fields["peer"]}
	slices.Sort(want)
	meshtest.Eventually(t, "both workers in the gateway's pool", func() bool {
		got := poolIDs(t, api)
		slices.Sort(got)
		return slices.Equal(got, want)
	})
	for _, w := range []*node{early, late} {
		if !strings.Contains(w.stderr.String(), "chose the gateway") || !strings.Contains(w.stderr.String(), gwID) {
			t.Errorf("worker %s did not log its choice of %s:\n%s", w.fields["peer"], gwID, w.stderr.String())
		}
	}

	// The worker admits the gateway it chose and no one else.
	late.stop() // early is enough from here on
	wid, err := peer.Decode(early.fields["peer"])
	if err != nil {
		t.Fatal(err)
	}
	workerInfo := peer.AddrInfo{ID: wid}
	for _, a := range strings.Split(early.fields["addrs"], ",") {
		ai, err := peer.AddrInfoFromString(a + "/p2p/" + wid.String())
		if err != nil {
			t.Fatal(err)
		}
		workerInfo.Addrs = append(workerInfo.Addrs, ai.Addrs...)
	}
	if admits(workerInfo, MustHost(t, nil, psk)) {
		t.Error("the worker admitted a stranger")
	}
	if admits(workerInfo, decoy) {
		t.Error("the worker admitted a non-gateway peer of its namespace")
	}
	if code := gw.stop(); code != 0 {
		t.Fatalf("gateway exited %d: %s", code, gw.stderr.String())
	}
	// While the gateway is down, a host with its identity key stands in
	// for it (both at once would share one peer ID).
	key, err := p2p.LoadIdentity(gwData)
	if err != nil {
		t.Fatal(err)
	}
	standIn := MustHost(t, key, psk)
	if !admits(workerInfo, standIn) {
		t.Error("the worker did not admit the gateway it chose")
	}
	standIn.Close()
	gw = MustStartNode(t, gwArgs...)
	if gw.fields["peer"] != gwID {
		t.Fatalf("restarted gateway is %s, was %s", gw.fields["peer"], gwID)
	}
	deadline := time.Now().Add(clientTestTimeout)
	for !slices.Equal(poolIDs(t, gw.fields["http"]), []string{early.fields["peer"]}) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker is not back in the restarted gateway's pool: %v\nworker: %s\ngateway: %s", poolIDs(t, gw.fields["http"]), early.stderr.String(), gw.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(early.stderr.String(), "chose the gateway"); n != 1 {
		t.Errorf("the worker chose a gateway %d times, want once", n)
	}
}

func mustSwarmKey(tb testing.TB) []byte {
	tb.Helper()
	k, err := p2p.NewSwarmKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustParseGroup(tb testing.TB, s string) p2p.Group {
	tb.Helper()
	g, err := p2p.ParseGroup(s)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func TestWorkerDialFlagErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no --dial and no discovery", []string{"--discover", "none"}, "without --dial a worker finds its gateway through discovery, which --discover none turns off"},
		{"--dial auto", []string{"--dial", "auto"}, "--dial auto: leave --dial out"},
		{"peer ID without discovery", []string{"--dial", "12D3KooWQGgcTjj4du1xJs1ZFPhftorMzdaZJQjwuHhJLWmvfX8y", "--discover", "none"}, "with --discover none give a full multiaddr"},
		{"not a peer", []string{"--dial", "nonsense"}, `--dial: "nonsense" is neither a peer ID nor a multiaddr`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := cli.Run(context.Background(), append([]string{"worker"}, c.args...), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("exit %d, stderr %q; want an error containing %q", code, stderr.String(), c.want)
			}
		})
	}
}
