package p2p

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// groupConn is a UDP socket joined to a multicast group on one interface.
//
// It is bound to the group address itself, not to 0.0.0.0, so it receives
// only datagrams sent to this group and port: Linux otherwise delivers to a
// wildcard-bound socket every group any socket on the host has joined on
// that port (IP_MULTICAST_ALL). Several sockets share the port through
// SO_REUSEADDR and SO_REUSEPORT; the kernel hands each of them a copy of
// every multicast datagram, so any number of nodes in any number of
// processes on one host see each other.
type groupConn struct {
	udp     *net.UDPConn
	pc      *ipv4.PacketConn
	group   netip.AddrPort
	ifindex int
	ifname  string
}

// listenGroup opens a socket on g. Outgoing datagrams leave by g's
// interface only (IP_MULTICAST_IF) with TTL 1, and loop back to the sockets
// of this host (IP_MULTICAST_LOOP). Joining and sending work on an
// interface without the MULTICAST flag, such as Linux's lo, because both
// name the interface by index instead of asking the routing table.
func listenGroup(ctx context.Context, g Group) (*groupConn, error) {
	ifi, err := lookupInterface(g.Interface)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", g, err)
	}
	return listenOn(ctx, g, ifi)
}

// listenOn opens a socket on g joined on ifi, the interface g names.
func listenOn(ctx context.Context, g Group, ifi *net.Interface) (*groupConn, error) {
	lc := net.ListenConfig{Control: reuseAddrPort}
	conn, err := lc.ListenPacket(ctx, "udp4", g.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", g, err)
	}
	udp := conn.(*net.UDPConn)
	pc := ipv4.NewPacketConn(udp)
	group := &net.UDPAddr{IP: g.Addr.Addr().AsSlice()}
	for _, step := range []struct {
		what string
		err  func() error
	}{
		{"join group", func() error { return pc.JoinGroup(ifi, group) }},
		{"set multicast interface", func() error { return pc.SetMulticastInterface(ifi) }},
		{"set multicast loopback", func() error { return pc.SetMulticastLoopback(true) }},
		{"set multicast ttl", func() error { return pc.SetMulticastTTL(1) }},
		{"request interface control messages", func() error { return pc.SetControlMessage(ipv4.FlagInterface, true) }},
	} {
		if err := step.err(); err != nil {
			udp.Close()
			return nil, fmt.Errorf("listen on %s: %s: %w", g, step.what, err)
		}
	}
	return &groupConn{udp: udp, pc: pc, group: g.Addr, ifindex: ifi.Index, ifname: ifi.Name}, nil
}

// send writes one datagram to the group.
func (c *groupConn) send(b []byte) error {
	_, err := c.udp.WriteToUDPAddrPort(b, c.group)
	return err
}

// receive reads the next datagram that arrived on the group's interface
// into buf, skipping any that came in on another interface (a host joined
// to the same group elsewhere would otherwise be heard).
func (c *groupConn) receive(buf []byte) (int, net.Addr, error) {
	for {
		n, cm, src, err := c.pc.ReadFrom(buf)
		if err != nil {
			return 0, nil, err
		}
		if cm != nil && cm.IfIndex != 0 && cm.IfIndex != c.ifindex {
			continue
		}
		return n, src, nil
	}
}

func (c *groupConn) close() error { return c.udp.Close() }
