package p2p

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

// DefaultGroup is the discovery group a node joins unless told otherwise:
// an administratively scoped IPv4 group on the loopback interface, so that
// nodes on one machine find each other and nothing leaves it.
const DefaultGroup = "/ip4/228.8.8.8/udp/8822/multicast/lo"

// NoGroup is the --discover value that turns discovery off.
const NoGroup = "none"

// multicastCode is the multiaddr code of the "multicast" protocol, whose
// value names the network interface a group is joined on. It is taken from
// the multicodec private-use range (0x300000-0x3fffff) because the protocol
// only means something to Shoal: it never appears in a dialable address.
const multicastCode = 0x300c01

// groupExample is repeated in every ParseGroup error so that the message
// says what a valid value looks like.
const groupExample = "want e.g. " + DefaultGroup + ", or " + NoGroup

func init() {
	// A package linked into the same binary (casm, for one) may already
	// have registered a protocol by this name; its value is an interface
	// name too, so reuse it instead of failing.
	if ma.ProtocolWithName("multicast").Code != 0 {
		return
	}
	err := ma.AddProtocol(ma.Protocol{
		Name:       "multicast",
		Code:       multicastCode,
		VCode:      ma.CodeToVarint(multicastCode),
		Size:       ma.LengthPrefixedVarSize,
		Transcoder: ma.NewTranscoderFromFunctions(ifaceToBytes, ifaceToString, validIface),
	})
	if err != nil {
		panic(fmt.Sprintf("p2p: register multiaddr protocol multicast: %v", err))
	}
}

func validIface(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty interface name")
	}
	if strings.ContainsRune(string(b), '/') {
		return fmt.Errorf("interface name %q contains a slash", b)
	}
	return nil
}

func ifaceToBytes(s string) ([]byte, error) {
	b := []byte(s)
	return b, validIface(b)
}

func ifaceToString(b []byte) (string, error) {
	return string(b), validIface(b)
}

// Group is a UDP multicast group joined on one network interface. The zero
// Group means discovery is off.
type Group struct {
	// Addr is the IPv4 multicast address and UDP port of the group.
	Addr netip.AddrPort
	// Interface names the only interface the group is joined and sent on:
	// an interface name, or a pattern in path.Match syntax (eth*) that
	// exactly one interface matches. A pattern is matched again whenever
	// the interface goes away: docker names the interface of a network
	// reconnected to a container eth1, not eth0 again.
	Interface string
}

// Enabled reports whether g names a group, as opposed to "none".
func (g Group) Enabled() bool { return g.Addr.IsValid() }

// String returns g in the form ParseGroup accepts.
func (g Group) String() string {
	if !g.Enabled() {
		return NoGroup
	}
	return "/ip4/" + g.Addr.Addr().String() +
		"/udp/" + strconv.Itoa(int(g.Addr.Port())) +
		"/multicast/" + g.Interface
}

// ParseGroup parses a --discover value: either "none" (discovery off, the
// zero Group) or /ip4/<multicast ip>/udp/<port>/multicast/<interface>. The
// interface must exist on this machine; it need not have the MULTICAST flag
// (Linux's lo does not).
func ParseGroup(s string) (Group, error) {
	if s == NoGroup {
		return Group{}, nil
	}
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return Group{}, fmt.Errorf("discovery group %q: %w; %s", s, err, groupExample)
	}
	if len(m) != 3 ||
		m[0].Code() != ma.P_IP4 ||
		m[1].Code() != ma.P_UDP ||
		m[2].Code() != multicastCodeInUse() {
		return Group{}, fmt.Errorf("discovery group %q: want /ip4/<ip>/udp/<port>/multicast/<interface>; %s", s, groupExample)
	}
	ip, ok := netip.AddrFromSlice(m[0].RawValue())
	if !ok || !ip.IsMulticast() {
		return Group{}, fmt.Errorf("discovery group %q: %s is not an IPv4 multicast address (224.0.0.0/4); %s", s, m[0].Value(), groupExample)
	}
	port, err := strconv.ParseUint(m[1].Value(), 10, 16)
	if err != nil || port == 0 {
		return Group{}, fmt.Errorf("discovery group %q: port must be between 1 and 65535; %s", s, groupExample)
	}
	name := m[2].Value()
	if _, err := lookupInterface(name); err != nil {
		return Group{}, fmt.Errorf("discovery group %q: %w; %s", s, err, groupExample)
	}
	return Group{Addr: netip.AddrPortFrom(ip, uint16(port)), Interface: name}, nil
}

// lookupInterface returns the interface called name or, when name is a
// pattern, the one interface whose name matches it.
func lookupInterface(name string) (*net.Interface, error) {
	if !strings.ContainsAny(name, `*?[\`) {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("no network interface %q on this machine (%w)", name, err)
		}
		return ifi, nil
	}
	if _, err := path.Match(name, ""); err != nil {
		return nil, fmt.Errorf("interface pattern %q: %w", name, err)
	}
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var found []net.Interface
	for _, ifi := range all {
		if ok, _ := path.Match(name, ifi.Name); ok {
			found = append(found, ifi)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no network interface matches %q on this machine", name)
	case 1:
		return &found[0], nil
	}
	names := make([]string, len(found))
	for i, ifi := range found {
		names[i] = ifi.Name
	}
	slices.Sort(names)
	return nil, fmt.Errorf("interface pattern %q matches %s: name one", name, strings.Join(names, ", "))
}

// multicastCodeInUse is the code of the registered "multicast" protocol,
// which is multicastCode unless another package registered it first.
func multicastCodeInUse() int { return ma.ProtocolWithName("multicast").Code }
