package callback_test

import (
	"net/netip"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/callback"
)

func TestAllowed(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"10.0.0.1", false},
		{"10.1.2.3", true}, // allowed
		{"192.168.1.1", false},
		{"172.16.0.1", false},
		{"169.254.169.254", false}, // a cloud's metadata
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"::1", true}, // allowed
		{"fe80::1", false},
		{"fd00::1", false},
		{"::ffff:127.0.0.1", false},
	} {
		if got := callback.Allowed(netip.MustParseAddr(c.ip).Unmap(), allow); got != c.want {
			t.Errorf("%s: %v, want %v", c.ip, got, c.want)
		}
	}
}
