package callback

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbidden is the error of a POST to an address callbacks may not
// reach; it is final, never retried.
var ErrForbidden = errors.New("callbacks may not reach this address")

// NewClient returns the HTTP client of callbacks: it follows no redirect,
// and it connects only to public addresses, or to those in allow. What a
// job's submitter names is where the gateway connects from inside its
// network: without this, callback_url would reach the gateway's own API,
// a cloud's metadata address (169.254.169.254) or any private service,
// and the attempts' codes and errors would map them. The address is
// checked when the connection is made, after DNS, so a name that resolves
// to a private address is refused too.
func NewClient(allow []netip.Prefix) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbidden, address)
			}
			if ip := ap.Addr().Unmap(); !Allowed(ip, allow) {
				return fmt.Errorf("%w: %s is not a public address (shoal gateway --callback-allow %s/%d lets callbacks reach it)", ErrForbidden, ip, ip, ip.BitLen())
			}
			return nil
		},
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 2,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Allowed reports whether callbacks may reach ip: a public address, or
// one in allow.
func Allowed(ip netip.Addr, allow []netip.Prefix) bool {
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedSpace.Contains(ip))
}

// sharedSpace is the carrier-grade NAT range (RFC 6598), private in all
// but name.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
