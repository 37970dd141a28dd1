package p2p_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

func TestParseGroup(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     p2p.Group
		err      string // substring of the error; "" means success
	}{
		{"default", p2p.DefaultGroup, p2p.Group{Addr: netip.MustParseAddrPort("228.8.8.8:8822"), Interface: "lo"}, ""},
		{"other group", "/ip4/239.1.2.3/udp/9000/multicast/lo", p2p.Group{Addr: netip.MustParseAddrPort("239.1.2.3:9000"), Interface: "lo"}, ""},
		{"none", "none", p2p.Group{}, ""},
		{"empty", "", p2p.Group{}, "want e.g."},
		{"bad ip", "/ip4/300.1.2.3/udp/8822/multicast/lo", p2p.Group{}, "want e.g."},
		{"non-multicast ip", "/ip4/127.0.0.1/udp/8822/multicast/lo", p2p.Group{}, "127.0.0.1 is not an IPv4 multicast address"},
		{"missing interface", "/ip4/228.8.8.8/udp/8822", p2p.Group{}, "/multicast/<interface>"},
		{"empty interface", "/ip4/228.8.8.8/udp/8822/multicast", p2p.Group{}, "want e.g."},
		{"unknown interface", "/ip4/228.8.8.8/udp/8822/multicast/nosuchif0", p2p.Group{}, `no network interface "nosuchif0"`},
		{"interface pattern", "/ip4/228.8.8.8/udp/8822/multicast/l[o]", p2p.Group{Addr: netip.MustParseAddrPort("228.8.8.8:8822"), Interface: "l[o]"}, ""},
		{"pattern matching none", "/ip4/228.8.8.8/udp/8822/multicast/nosuchif*", p2p.Group{}, `no network interface matches "nosuchif*"`},
		{"bad pattern", "/ip4/228.8.8.8/udp/8822/multicast/lo[", p2p.Group{}, "syntax error in pattern"},
		{"tcp", "/ip4/228.8.8.8/tcp/8822/multicast/lo", p2p.Group{}, "/udp/<port>"},
		{"ip6", "/ip6/ff02::1/udp/8822/multicast/lo", p2p.Group{}, "/ip4/<ip>"},
		{"port zero", "/ip4/228.8.8.8/udp/0/multicast/lo", p2p.Group{}, "port must be"},
		{"trailing component", "/ip4/228.8.8.8/udp/8822/multicast/lo/tcp/1", p2p.Group{}, "want e.g."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p2p.ParseGroup(tc.in)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("ParseGroup(%q) = %v, want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p2p.DefaultGroup) {
					t.Fatalf("error %q: want it to contain %q and the example %s", err, tc.err, p2p.DefaultGroup)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ParseGroup(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
			if got.Enabled() != (tc.in != "none") {
				t.Errorf("Enabled() = %v", got.Enabled())
			}
		})
	}
}

// TestParseGroupAmbiguousPattern: a pattern must name one interface.
func TestParseGroupAmbiguousPattern(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) < 2 {
		t.Skipf("needs two network interfaces: %v, %v", ifs, err)
	}
	_, err = p2p.ParseGroup("/ip4/228.8.8.8/udp/8822/multicast/*")
	if err == nil || !strings.Contains(err.Error(), "name one") || !strings.Contains(err.Error(), ifs[0].Name) {
		t.Fatalf("ParseGroup(.../multicast/*) = %v, want an error listing the interfaces", err)
	}
}
