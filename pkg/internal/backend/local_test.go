package backend_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/backend"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// shoalBin is the real shoal binary, built once by TestMain.
var shoalBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shoal-backend-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shoalBin = filepath.Join(dir, "shoal")
	out, err := exec.Command("go", "build", "-o", shoalBin, "../../../cmd/shoal").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build shoal: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exits records the calls of a backend's Exited.
type exits chan string

func (e exits) record(id string, err error) { e <- fmt.Sprintf("%s: %v", id, err) }

// mustLocal returns a Local on dir running the test's binary, closed when
// the test ends.
func mustLocal(tb testing.TB, dir string, exited exits) *backend.Local {
	tb.Helper()
	l := backend.NewLocal(backend.LocalConfig{
		Binary:  shoalBin,
		Dir:     dir,
		Cluster: "test",
		Grace:   2 * time.Second,
		Exited:  exited.record,
	})
	tb.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return l
}

func specOf(m *meshtest.Mesh, id string) backend.WorkerSpec {
	return backend.WorkerSpec{
		Gateway:   fmt.Sprintf("%s/p2p/%s", m.Host.Addrs()[0], m.Host.ID()),
		JoinToken: m.JoinToken().String(),
		Labels:    []string{"zone=test", backend.MachineLabel(id)},
		Slots:     3,
	}
}

// mustPID reads the pid a Local recorded for machine id.
func mustPID(tb testing.TB, dir, id string) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, id, "pid"))
	if err != nil {
		tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return pid
}

// alive says whether pid is a process not yet reaped (a zombie counts
// as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func mustList(tb testing.TB, b backend.Backend, want ...string) {
	tb.Helper()
	ids, err := b.List(context.Background())
	if err != nil || !slices.Equal(ids, want) && len(ids)+len(want) > 0 {
		tb.Fatalf("List = %q, %v; want %q", ids, err, want)
	}
}

func noExit(tb testing.TB, exited exits) {
	tb.Helper()
	select {
	case e := <-exited:
		tb.Fatalf("Exited called: %s", e)
	default:
	}
}

// A machine's worker joins with its labels, its token out of argv; Stop
// drains it out of the pool and its process is gone, without Exited.
func TestLocalStartStop(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	dir, exited := t.TempDir(), make(exits, 1)
	l := mustLocal(t, dir, exited)
	ctx := context.Background()
	if err := l.Start(ctx, "m1", specOf(m, "m1")); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx, "m1", specOf(m, "m1")); err == nil {
		t.Fatal("a second Start of m1 succeeded")
	}
	m.WaitWorkers(1)
	w := m.Gateway.Workers()[0]
	if !slices.Contains(w.Labels, backend.MachineLabel("m1")) || !slices.Contains(w.Labels, "zone=test") || w.Slots != 3 {
		t.Fatalf("worker offers %d slots, labels %q", w.Slots, w.Labels)
	}
	mustList(t, l, "m1")
	pid := mustPID(t, dir, "m1")
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if strings.Contains(string(cmdline), m.JoinToken().String()) {
		t.Fatal("the join token is in the worker's command line")
	}
	if fi, err := os.Stat(filepath.Join(dir, "m1", "join-token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("join token file: %v, %v", fi, err)
	}
	if pgid, _ := syscall.Getpgid(pid); pgid != pid {
		t.Fatalf("worker's process group %d, want its own (%d)", pgid, pid)
	}

	if err := l.Stop(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("pid %d alive after Stop", pid)
	}
	m.WaitWorkers(0)
	mustList(t, l)
	if err := l.Stop(ctx, "m1"); err != nil {
		t.Fatalf("Stop of a stopped machine: %v", err)
	}
	if err := l.Stop(ctx, "m9"); !errors.Is(err, backend.ErrUnknown) {
		t.Fatalf("Stop of a machine never started: %v, want ErrUnknown", err)
	}
	if log, err := os.ReadFile(filepath.Join(dir, "m1", "worker.log")); err != nil || !strings.Contains(string(log), "shoal worker peer=") {
		t.Fatalf("worker.log: %v\n%s", err, log)
	}
	noExit(t, exited)
}

// A worker killed from outside is reported to Exited; a bad binary fails
// Start.
func TestLocalExited(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	dir, exited := t.TempDir(), make(exits, 1)
	l := mustLocal(t, dir, exited)
	if err := l.Start(context.Background(), "m1", specOf(m, "m1")); err != nil {
		t.Fatal(err)
	}
	m.WaitWorkers(1)
	if err := syscall.Kill(mustPID(t, dir, "m1"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-exited:
		if !strings.HasPrefix(e, "m1: worker exited: signal: killed") {
			t.Fatalf("Exited got %q", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exited not called for a killed worker")
	}
	mustList(t, l)

	bad := backend.NewLocal(backend.LocalConfig{Binary: filepath.Join(dir, "no-such-shoal"), Dir: dir})
	if err := bad.Start(context.Background(), "m2", specOf(m, "m2")); err == nil {
		t.Fatal("Start with a missing binary succeeded")
	}
	mustList(t, bad)
	for _, id := range []string{"", "..", "a/b", ".x"} {
		if err := l.Start(context.Background(), id, specOf(m, id)); err == nil {
			t.Fatalf("Start of machine %q succeeded", id)
		}
	}
}

// A Local made again on the same Dir (a gateway started again) lists the
// machine the first one left running and stops it.
func TestLocalAdopt(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	dir := t.TempDir()
	first := mustLocal(t, dir, make(exits, 1)) // its Exited sees the adopted stop
	if err := first.Start(context.Background(), "m1", specOf(m, "m1")); err != nil {
		t.Fatal(err)
	}
	m.WaitWorkers(1)
	pid := mustPID(t, dir, "m1")

	exited := make(exits, 1)
	again := mustLocal(t, dir, exited)
	mustList(t, again, "m1")
	if err := again.Stop(context.Background(), "m1"); err != nil {
		t.Fatal(err)
	}
	m.WaitWorkers(0)
	if alive(pid) {
		t.Fatalf("pid %d alive after Stop", pid)
	}
	mustList(t, again)
	noExit(t, exited)

	// A pid file naming another process is never signalled.
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	if err := os.WriteFile(filepath.Join(dir, "m1", "pid"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	mustList(t, again)
	if err := again.Stop(context.Background(), "m1"); err != nil || !alive(sleep.Process.Pid) {
		t.Fatalf("Stop over a stranger's pid: %v, alive %v", err, alive(sleep.Process.Pid))
	}
}
