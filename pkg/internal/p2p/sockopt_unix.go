//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package p2p

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reuseAddrPort lets every node on the host bind the group port.
func reuseAddrPort(network, address string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err == nil {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
