package p2p_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// served is the protocol the tests look for, as a worker looks for the
// gateway's RPC protocol.
const servedProto = "/shoal-test/served/1"

// mustAnswer starts discovery for h on g: h answers surveys with its
// addresses, as every node does.
func mustAnswer(tb testing.TB, h host.Host, g p2p.Group, ns string) *p2p.Discovery {
	tb.Helper()
	d, err := p2p.New(p2p.Config{Group: g, Namespace: ns, Key: h.Peerstore().PrivKey(h.ID()), Addrs: h.Addrs})
	if err != nil {
		tb.Fatal(err)
	}
	MustRun(tb, d)
	return d
}

// mustServer is a node that serves servedProto.
func mustServer(tb testing.TB, g p2p.Group, ns string) host.Host {
	tb.Helper()
	h := mustHost(tb, p2p.HostConfig{})
	h.SetStreamHandler(servedProto, func(s network.Stream) { s.Close() })
	mustAnswer(tb, h, g, ns)
	return h
}

// mustFinder is a node like a worker before it has chosen its gateway: it
// answers discovery and admits nobody.
func mustFinder(tb testing.TB, g p2p.Group, ns string) (host.Host, *p2p.Discovery) {
	tb.Helper()
	h := mustHost(tb, p2p.HostConfig{Gater: p2p.NewAllowlist()})
	return h, mustAnswer(tb, h, g, ns)
}

func connected(a, b host.Host) bool {
	return a.Network().Connectedness(b.ID()) == network.Connected
}

// TestFindProtocolSkipsOtherPeers puts, on one group, a server of the
// protocol among peers that answer discovery without serving it: one that
// accepts connections, one that refuses them (a worker, which admits only
// its gateway), and a server of another namespace. Only the server is
// chosen, and the finder stays connected to it alone.
func TestFindProtocolSkipsOtherPeers(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	open := mustHost(t, p2p.HostConfig{})
	mustAnswer(t, open, g, "alpha")
	refusing, _ := mustFinder(t, g, "alpha")
	elsewhere := mustServer(t, g, "beta")
	server := mustServer(t, g, "alpha")
	finder, d := mustFinder(t, g, "alpha")

	got, err := d.FindProtocol(testContext(t), finder, servedProto)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != server.ID() || len(got.Addrs) == 0 {
		t.Fatalf("FindProtocol = %v, want %s with its addresses", got, server.ID())
	}
	if !connected(finder, server) {
		t.Error("the finder is not connected to the server it chose")
	}
	// The others may still be being checked; each check ends within a
	// few seconds and leaves no connection behind.
	deadline := time.Now().Add(testTimeout)
	for connected(finder, open) || connected(finder, refusing) {
		if time.Now().After(deadline) {
			t.Fatal("the finder stays connected to a peer it did not choose")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if connected(finder, elsewhere) {
		t.Error("the finder connected to a server of another namespace")
	}
}

// TestFindProtocolNoServer: peers answer, none serves the protocol; the
// finder gives up at its deadline, connected to none of them.
func TestFindProtocolNoServer(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	open := mustHost(t, p2p.HostConfig{})
	mustAnswer(t, open, g, "shoal")
	refusing, _ := mustFinder(t, g, "shoal")
	finder, d := mustFinder(t, g, "shoal")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := d.FindProtocol(ctx, finder, servedProto)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FindProtocol = %v, %v; want a deadline error", got, err)
	}
	if connected(finder, open) || connected(finder, refusing) {
		t.Error("FindProtocol left a connection to a peer that does not serve the protocol")
	}
}

// TestFindProtocolOneOfTwo: with two servers, one is chosen and the
// finder keeps no connection to the other.
func TestFindProtocolOneOfTwo(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	a, b := mustServer(t, g, "shoal"), mustServer(t, g, "shoal")
	finder, d := mustFinder(t, g, "shoal")
	got, err := d.FindProtocol(testContext(t), finder, servedProto)
	if err != nil {
		t.Fatal(err)
	}
	chosen, other := a, b
	if got.ID == b.ID() {
		chosen, other = b, a
	} else if got.ID != a.ID() {
		t.Fatalf("FindProtocol = %s, want one of the servers", got.ID)
	}
	if !connected(finder, chosen) {
		t.Error("not connected to the chosen server")
	}
	if connected(finder, other) {
		t.Error("still connected to the server not chosen")
	}
}

func TestFindProtocolDiscoveryOff(t *testing.T) {
	d, err := p2p.New(p2p.Config{Namespace: "shoal", Key: MustKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	MustRun(t, d)
	if _, err := d.FindProtocol(testContext(t), MustHost(t), servedProto); !errors.Is(err, p2p.ErrDisabled) {
		t.Fatalf("FindProtocol with discovery off = %v, want ErrDisabled", err)
	}
}
