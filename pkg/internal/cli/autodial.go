package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// chooseTimeout bounds one search for a gateway to choose; the worker logs
// the failure and searches again (with its backoff) until one answers.
const chooseTimeout = 10 * time.Second

// gatewayDial is the gateway a worker's --dial names or, without --dial,
// the one that discovery finds in the worker's namespace.
type gatewayDial struct {
	target   peer.AddrInfo // the gateway --dial names; zero when discovered
	discover bool          // no --dial: discovery chooses
	ns       string        // for messages
	group    string
	// members are every gateway of a replicated group (docs/HA.md), when
	// --dial names several: the worker tries them in turn, and the one
	// that leads takes it.
	members []peer.AddrInfo
}

// parseGroupDial reads a --dial given several times: the members of a
// replicated group, each a full multiaddr; a join token must name one.
func parseGroupDial(dials []string, ns string, token *join.Token) (gatewayDial, error) {
	g := gatewayDial{ns: ns}
	for _, d := range dials {
		ai, err := parseDial(d)
		if err != nil {
			return g, fmt.Errorf("--dial: %v", err)
		}
		if ai.Addrs == nil {
			return g, fmt.Errorf("--dial %s: the members of a group are each given as a full multiaddr ending in /p2p/ID", d)
		}
		g.members = append(g.members, ai)
	}
	g.target = g.members[0]
	if token != nil {
		i := slices.IndexFunc(g.members, func(ai peer.AddrInfo) bool { return ai.ID == token.Gateway })
		if i < 0 {
			return g, fmt.Errorf("the join token is for gateway %s, which no --dial names: give the group's token (shoal gateways token) and every member's address", token.Gateway)
		}
		g.target = g.members[i]
	}
	return g, nil
}

// parseGatewayDial reads --dial given --discover, --ns and the worker's
// join token (nil: none). A token names its gateway: without --dial the
// worker dials that one, and a --dial naming another is refused.
func parseGatewayDial(dial, discover, ns string, token *join.Token) (gatewayDial, error) {
	g := gatewayDial{ns: ns, group: discover}
	if dial == "" && token != nil {
		dial = token.Gateway.String()
		if discover == p2p.NoGroup {
			return g, fmt.Errorf("the join token names gateway %s, which is found through discovery; with --discover none give --dial /ip4/IP/tcp/PORT/p2p/%s", dial, dial)
		}
	}
	if dial == "" {
		if discover == p2p.NoGroup {
			return g, errors.New("without --dial a worker finds its gateway through discovery, which --discover none turns off: give --dial /ip4/IP/tcp/PORT/p2p/GATEWAY_ID")
		}
		g.discover = true
		return g, nil
	}
	target, err := parseDial(dial)
	if err != nil {
		if dial == "auto" {
			return g, errors.New(`--dial auto: leave --dial out to take the gateway that discovery finds`)
		}
		return g, fmt.Errorf("--dial: %v", err)
	}
	if target.Addrs == nil && discover == p2p.NoGroup {
		return g, fmt.Errorf("--dial %s is a peer ID, which is found through discovery; with --discover none give a full multiaddr", dial)
	}
	if token != nil && token.Gateway != target.ID {
		return g, fmt.Errorf("--dial names gateway %s, but the join token is for gateway %s: give the token of the gateway you dial", target.ID, token.Gateway)
	}
	g.target = target
	return g, nil
}

// trusted returns the peers the worker admits from its start: the gateway
// it dials, or nobody until discovery has chosen one.
func (g gatewayDial) trusted() []peer.ID {
	switch {
	case g.discover:
		return nil
	case g.members != nil:
		return g.ids()
	}
	return []peer.ID{g.target.ID}
}

// ids are the peer IDs of a group's members.
func (g gatewayDial) ids() []peer.ID {
	out := make([]peer.ID, len(g.members))
	for i, m := range g.members {
		out[i] = m.ID
	}
	return out
}

// startField is the gateway's part of the worker's start line.
func (g gatewayDial) startField() string {
	if g.discover {
		return "gateway=discover(ns=" + g.ns + ")"
	}
	if g.members != nil {
		ids := make([]string, len(g.members))
		for i, m := range g.members {
			ids[i] = m.ID.String()
		}
		return "gateways=" + strings.Join(ids, ",")
	}
	return "gateway=" + g.target.ID.String()
}

// resolver returns how the worker finds its gateway before each
// connection. Without --dial, the first call surveys the namespace and
// takes the first peer that libp2p identify shows serving the gateway's
// RPC protocol; from then on the worker holds to that gateway exactly as
// if --dial had named its peer ID: it admits that peer (nd.allow, empty
// until then), finds it again by ID after a restart, and never changes to
// another gateway.
func (g gatewayDial) resolver(nd *node) worker.Resolve {
	if g.members != nil { // each connection to the next member, from the token's
		start := slices.IndexFunc(g.members, func(ai peer.AddrInfo) bool { return ai.ID == g.target.ID })
		var next atomic.Int64
		return func(context.Context) (peer.AddrInfo, error) {
			ai := g.members[(start+int(next.Add(1)-1))%len(g.members)]
			// Only the address --dial gives: the others a member told
			// (its QUIC port) fail slowly once it is dead, where a dead
			// TCP port is refused at once, and each try of a dead member
			// would take the whole connect bound.
			nd.host.Peerstore().ClearAddrs(ai.ID)
			return ai, nil
		}
	}
	if !g.discover {
		return resolver(g.target, nd.disc)
	}
	var mu sync.Mutex
	var chosen worker.Resolve
	return func(ctx context.Context) (peer.AddrInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		if chosen != nil {
			return chosen(ctx)
		}
		fctx, cancel := context.WithTimeout(ctx, chooseTimeout)
		defer cancel()
		ai, err := nd.disc.FindProtocol(fctx, nd.host, rpc.Protocol)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("no gateway of namespace %q answered on %s: %w", g.ns, g.group, err)
		}
		nd.allow.Allow(ai.ID)
		nd.log.Info("chose the gateway that discovery found; keeping to it as if --dial had named it", "gateway", ai.ID, "addrs", ai.Addrs)
		chosen = resolver(peer.AddrInfo{ID: ai.ID}, nd.disc)
		return ai, nil
	}
}
