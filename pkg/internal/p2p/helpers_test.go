package p2p_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// testTimeout bounds every wait for the network; tests normally finish far
// sooner and only a broken build waits this long.
const testTimeout = 20 * time.Second

func MustKey(tb testing.TB) crypto.PrivKey {
	tb.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustGroup returns a group on lo with a port no other test (nor a running
// node on 8822) uses: one the kernel just handed out as ephemeral.
func MustGroup(tb testing.TB) p2p.Group {
	tb.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	g, err := p2p.ParseGroup(fmt.Sprintf("/ip4/228.8.8.8/udp/%d/multicast/lo", port))
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func MustHost(tb testing.TB) host.Host {
	tb.Helper()
	h, err := p2p.NewHost(p2p.HostConfig{Key: MustKey(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// MustRun starts d.Run and stops it when the test ends, failing the test
// if Run returned an error.
func MustRun(tb testing.TB, d *p2p.Discovery) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

// MustNode starts a host and a discovery that answers with its addresses.
func MustNode(tb testing.TB, g p2p.Group, ns string) (host.Host, *p2p.Discovery) {
	tb.Helper()
	h := MustHost(tb)
	d, err := p2p.New(p2p.Config{Group: g, Namespace: ns, Key: h.Peerstore().PrivKey(h.ID()), Addrs: h.Addrs})
	if err != nil {
		tb.Fatal(err)
	}
	MustRun(tb, d)
	return h, d
}

// MustSurveyor starts a discovery that only surveys.
func MustSurveyor(tb testing.TB, g p2p.Group, ns string) *p2p.Discovery {
	tb.Helper()
	d, err := p2p.New(p2p.Config{Group: g, Namespace: ns, Key: MustKey(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	MustRun(tb, d)
	return d
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

func ids(infos []peer.AddrInfo) []peer.ID {
	out := make([]peer.ID, len(infos))
	for i, info := range infos {
		out[i] = info.ID
	}
	return out
}

func isLoopback(a ma.Multiaddr) bool {
	ip, err := a.ValueForProtocol(ma.P_IP4)
	return err == nil && net.ParseIP(ip).IsLoopback()
}
