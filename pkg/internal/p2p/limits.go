package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// GatewayPeers is how many connections a gateway's host is sized for:
// one from each worker, and the clients' besides. libp2p's defaults are
// sized for a node of a public network, by the machine's memory: on a
// 24 GiB machine its resource manager takes 256 inbound connections, and
// its connection manager closes connections past 192 peers once they are
// a minute old, so a gateway past 250 or so workers refused the rest and
// kept closing joined ones.
const GatewayPeers = 10_000

// peerOptions sizes a host for peers connections: its resource manager
// takes that many (as many inbound; a quarter of them still in their
// handshake, as when every worker reconnects to a restarted gateway; and
// 8 streams a connection), never less than libp2p's defaults, and no
// connection manager trims them: the resource manager bounds them, and a
// gateway drops a worker itself, when it stops answering.
func peerOptions(peers int) ([]libp2p.Option, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	scaled := limits.AutoScale()
	cfg := scaled.ToPartialLimitConfig()
	raise(&cfg.System, peers)
	raise(&cfg.Transient, peers/4)
	mgr, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(cfg.Build(scaled)))
	if err != nil {
		return nil, fmt.Errorf("resource manager for %d peers: %w", peers, err)
	}
	return []libp2p.Option{libp2p.ResourceManager(mgr), libp2p.ConnectionManager(connmgr.NullConnMgr{})}, nil
}

// raise lifts l's connection and stream limits to conns connections, 8
// streams each, where they are lower.
func raise(l *rcmgr.ResourceLimits, conns int) {
	atLeast := func(v *rcmgr.LimitVal, n int) {
		if *v >= 0 && int(*v) < n {
			*v = rcmgr.LimitVal(n)
		}
	}
	atLeast(&l.Conns, conns)
	atLeast(&l.ConnsInbound, conns)
	atLeast(&l.Streams, 8*conns)
	atLeast(&l.StreamsInbound, 8*conns)
}
