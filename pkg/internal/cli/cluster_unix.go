//go:build unix

package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// detach makes cmd's process the leader of a session of its own, so that
// it outlives the command that started it and its terminal's signals.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// processAlive reports whether process pid runs.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// runsWith reports whether process pid runs with arg among its
// arguments: a pid recorded long ago may since name another process.
// Where /proc cannot tell, it is whether pid runs.
func runsWith(pid int, arg string) bool {
	if !processAlive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || !procMounted()
	}
	return slices.Contains(strings.Split(string(b), "\x00"), arg)
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/cmdline")
	return err == nil
}

// stopProcess sends pid SIGTERM, and SIGKILL if it has not exited after
// grace, and returns once it is gone.
func stopProcess(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop process %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(grace)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
