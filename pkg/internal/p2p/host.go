package p2p

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/pnet"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// HostConfig configures NewHost.
type HostConfig struct {
	// Key is the node's identity (see LoadIdentity). Required.
	Key crypto.PrivKey
	// Listen holds the multiaddrs to listen on; empty means DefaultListen
	// (TCP only when PSK is set).
	Listen []string
	// PSK, when set, is a 32-byte private network key: only peers holding
	// the same key can connect. libp2p's QUIC transport cannot run behind a
	// private network, so the host then uses TCP only.
	PSK []byte
	// Gater, when set, decides which connections the host keeps (see
	// Allowlist).
	Gater connmgr.ConnectionGater
	// Peers, when set, sizes the host for that many connections (see
	// GatewayPeers); 0 keeps libp2p's defaults, which fit a worker.
	Peers int
}

// DefaultListen returns the default listen addresses: TCP and QUIC on
// 127.0.0.1, on ports the kernel picks.
func DefaultListen() []string {
	return []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
}

// NewHost starts a libp2p host with TCP and QUIC transports and libp2p's
// default security (Noise, TLS). Everything that would reach beyond the
// addresses the caller dials is off: no relay, no NAT port mapping, no hole
// punching, no AutoNAT probing, no mDNS. The caller closes the host.
func NewHost(cfg HostConfig) (host.Host, error) {
	if cfg.Key == nil {
		return nil, errors.New("new host: no identity key")
	}
	if cfg.PSK != nil && len(cfg.PSK) != 32 {
		return nil, fmt.Errorf("new host: private network key is %d bytes, want 32", len(cfg.PSK))
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen()
		if cfg.PSK != nil {
			listen = listen[:1]
		}
	}
	addrs := make([]ma.Multiaddr, 0, len(listen))
	for _, s := range listen {
		a, err := parseListen(s, cfg.PSK != nil)
		if err != nil {
			return nil, fmt.Errorf("new host: %w", err)
		}
		addrs = append(addrs, a)
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrs(addrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		// AutoNAT's client cannot be removed, but with the reachability
		// fixed it never asks other peers to dial us back.
		libp2p.ForceReachabilityPrivate(),
	}
	if cfg.Gater != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.Gater))
	}
	if cfg.Peers > 0 {
		sized, err := peerOptions(cfg.Peers)
		if err != nil {
			return nil, fmt.Errorf("new host: %w", err)
		}
		opts = append(opts, sized...)
	}
	if cfg.PSK != nil {
		opts = append(opts, libp2p.PrivateNetwork(pnet.PSK(cfg.PSK)))
	} else {
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	// Port mapping (NATPortMap), hole punching (EnableHolePunching), the
	// AutoNAT service (EnableNATService) and mDNS are opt-in in libp2p;
	// they stay off by not being asked for.
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("new host: %w", err)
	}
	return h, nil
}

// parseListen accepts /ip4|ip6/<ip>/tcp/<port> and, unless tcpOnly,
// /ip4|ip6/<ip>/udp/<port>/quic-v1: libp2p would silently skip an address
// that no transport can listen on, and a node should not start deaf.
func parseListen(s string, tcpOnly bool) (ma.Multiaddr, error) {
	want := "want /ip4/<ip>/tcp/<port> or /ip4/<ip>/udp/<port>/quic-v1"
	if tcpOnly {
		want = "want /ip4/<ip>/tcp/<port> (a private network key allows TCP only)"
	}
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w; %s", s, err, want)
	}
	ok := len(a) >= 2 && (a[0].Code() == ma.P_IP4 || a[0].Code() == ma.P_IP6)
	switch {
	case !ok:
	case len(a) == 2 && a[1].Code() == ma.P_TCP:
	case !tcpOnly && len(a) == 3 && a[1].Code() == ma.P_UDP && a[2].Code() == ma.P_QUIC_V1:
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("listen address %q: unsupported; %s", s, want)
	}
	return a, nil
}
