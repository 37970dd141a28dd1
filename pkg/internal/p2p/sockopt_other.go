//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package p2p

import "syscall"

// reuseAddrPort does nothing here: on these systems only one node per host
// can bind the group port.
func reuseAddrPort(network, address string, c syscall.RawConn) error { return nil }
