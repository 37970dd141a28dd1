//go:build unix

package backend

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// ownGroup puts a machine's worker in a process group of its own, so that
// a Ctrl-C at the gateway's terminal reaches the gateway alone: the
// gateway stops its machines itself, each given its grace.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signal sends sig to process pid.
func signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// isWorker says whether pid is a running `shoal worker` with --data dir:
// the check before signalling a pid read from a file, which may have been
// reused by an unrelated process since. A zombie's cmdline is empty, so a
// process that has exited is not one.
func isWorker(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
	if len(args) < 2 || string(args[1]) != "worker" {
		return false
	}
	for i := 2; i+1 < len(args); i++ {
		if string(args[i]) == "--data" && string(args[i+1]) == dir {
			return true
		}
	}
	return false
}
