//go:build !unix

package backend

import (
	"errors"
	"syscall"
)

func ownGroup() *syscall.SysProcAttr { return nil }

func signal(int, syscall.Signal) error {
	return errors.New("signals need a unix system")
}

// isWorker cannot tell without /proc: a leftover machine is never
// signalled.
func isWorker(int, string) bool { return false }
