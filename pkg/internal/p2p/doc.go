// Package p2p gives a Shoal node its place in the mesh: a persistent
// identity, a libp2p host, and discovery of other nodes over UDP multicast.
//
// # Identity
//
// LoadIdentity keeps an Ed25519 key in the node's data directory
// (identity.key, mode 0600), so a node's peer ID survives restarts and
// workers can be told which gateway to trust by ID.
//
// # Host
//
// NewHost starts a libp2p host listening on TCP and QUIC (DefaultListen:
// both on 127.0.0.1, kernel-chosen ports). The host only talks to peers it
// is told about or finds by discovery: relay, NAT port mapping, hole
// punching, AutoNAT probing and mDNS are all off. A private network key
// (HostConfig.PSK) restricts it to TCP, the one transport libp2p can run
// behind one.
//
// # Discovery
//
// Discovery follows Wetware's casm: a node multicasts a signed survey to a
// group (the --discover address, ParseGroup), and every node of the same
// namespace that hears it multicasts a signed response with its peer ID and
// listen addresses. Surveys repeat with backoff, since UDP may drop any
// packet.
//
//	group  /ip4/228.8.8.8/udp/8822/multicast/lo   (DefaultGroup)
//	survey   {from, namespace, distance, seq}     signed, domain shoal-discovery-survey
//	response {peer, namespace, seq, addrs}        signed, domain shoal-discovery-response
//
// Both packets are libp2p signed envelopes (core/record). A receiver drops,
// logging at debug level, anything that is not a well-formed envelope of
// one of the two types, that belongs to another namespace, that it sent
// itself, whose signature does not verify with the sender's own key, or
// whose sequence number (the sender's clock in nanoseconds) is more than a
// minute off or not newer than the last one accepted from that sender. The
// last rule makes a replayed packet harmless.
//
// The group is joined and sent on the named interface only, with TTL 1, so
// discovery never leaves the link it was given; with the default it never
// leaves the machine. This works on Linux's lo, whose MULTICAST flag is
// off, because the socket names the interface by index both to join and to
// send. Every node binds the group port with SO_REUSEPORT, and the kernel
// gives each socket a copy of every datagram, so any number of nodes in
// one or many processes on a host see each other.
//
// The interface may be named by a pattern (/multicast/eth*, path.Match
// syntax) that exactly one interface matches. Run checks every second that
// the interface it joined is still there under the group's name or
// pattern, and joins again once there is one: a container whose network
// is disconnected and connected again gets a new interface, called eth1.
//
// The interface is written as a multiaddr component, /multicast/<name>,
// a protocol this package registers with go-multiaddr under a code from the
// multicodec private-use range.
package p2p
