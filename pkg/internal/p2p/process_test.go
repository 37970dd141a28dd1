package p2p_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// helperEnv makes the test binary run as a discovery node (see runHelper)
// instead of running tests.
const helperEnv = "SHOAL_P2P_TEST_NODE"

func TestMain(m *testing.M) {
	if group := os.Getenv(helperEnv); group != "" {
		if err := runHelper(group); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper runs a host and a discovery that answers on group, prints the
// peer ID, and stops when stdin closes.
func runHelper(group string) error {
	g, err := p2p.ParseGroup(group)
	if err != nil {
		return err
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return err
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key})
	if err != nil {
		return err
	}
	defer h.Close()
	d, err := p2p.New(p2p.Config{Group: g, Namespace: "shoal", Key: h.Peerstore().PrivKey(h.ID()), Addrs: h.Addrs})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Println(h.ID())
	return d.Run(ctx)
}

// startHelper runs the test binary as a node in another process and
// returns its peer ID.
func startHelper(t *testing.T, g p2p.Group) peer.ID {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// A race-enabled binary sleeps a second at exit unless told not to.
	cmd.Env = append(os.Environ(), helperEnv+"="+g.String(),
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: read peer ID: %v", err)
	}
	id, err := peer.Decode(line[:len(line)-1])
	if err != nil {
		t.Fatalf("helper printed %q: %v", line, err)
	}
	return id
}

// TestDiscoveryAcrossProcesses shares one group port among this process
// and two others: each must hear the others' multicasts.
func TestDiscoveryAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	g := MustGroup(t)
	h, _ := MustNode(t, g, "shoal")
	want := []peer.ID{h.ID(), startHelper(t, g), startHelper(t, g)}
	slices.Sort(want)
	surveyor := MustSurveyor(t, g, "shoal")
	ctx := testContext(t)
	for _, id := range want {
		if id == h.ID() {
			continue
		}
		info, err := surveyor.FindPeer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Connect(ctx, info); err != nil {
			t.Fatalf("connect to the node in another process: %v", err)
		}
	}
	for {
		infos, err := surveyor.Survey(ctx, 200*time.Millisecond)
		if err != nil {
			t.Fatalf("survey: %v (want %v)", err, want)
		}
		if slices.Equal(ids(infos), want) {
			return
		}
	}
}
