package gateway_test

import (
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// The process tree's failure semantics and backpressure
// (docs/PROCESSES.md), with wasm.ProcTest (wasm/proctest) as parent and
// children on real in-process meshes.

// twoCoreWorker is a worker that offers 2 cores and 1 GiB to reserve.
func twoCoreWorker() worker.Config {
	cfg := worker.DefaultConfig()
	cfg.Cores, cfg.Memory = 2000, 1<<30
	return cfg
}

// startTreeMesh starts a mesh of n two-core workers, in the pool.
func startTreeMesh(tb testing.TB, n int) *meshtest.Mesh {
	tb.Helper()
	cfg := twoCoreWorker()
	m := meshtest.Start(tb, meshtest.Options{Workers: n, Slots: 2, Worker: &cfg})
	m.WaitWorkers(n)
	return m
}

// postTree submits a task of wasm.ProcTest with argv [id, args...] and
// the given extra fields.
func postTree(tb testing.TB, url, id string, args []string, extra ...field) {
	tb.Helper()
	fields := []field{{name: "id", value: id}, {name: "wasm", file: wasm.ProcTest}}
	for _, a := range args {
		fields = append(fields, field{name: "args", value: a})
	}
	mustPost(tb, url, append(fields, extra...)...)
}

// stdout is what process pid of task id printed, line by line.
func stdout(tb testing.TB, url, id string, pid int) []string {
	tb.Helper()
	var out []string
	for _, e := range logEntries(tb, url, id) {
		if e.Stream == "stdout" && e.Process == pid {
			out = append(out, strings.Split(strings.TrimSuffix(e.Data, "\n"), "\n")...)
		}
	}
	return out
}

// mustReleaseAll waits until no worker of m holds a reservation.
func mustReleaseAll(tb testing.TB, m *meshtest.Mesh) {
	tb.Helper()
	meshtest.Eventually(tb, "every reservation released", func() bool {
		for _, w := range m.Gateway.Workers() {
			if w.UsedCores != 0 || w.UsedMem != 0 || w.Used != 0 {
				return false
			}
		}
		return true
	})
}

// child returns process pid of v's tree.
func child(tb testing.TB, v api.Task, pid int) api.Process {
	tb.Helper()
	for _, p := range v.Processes {
		if p.PID == pid {
			return p
		}
	}
	tb.Fatalf("no process %d in %+v", pid, v.Processes)
	return api.Process{}
}

// How a child's end reaches its parent: wait gives an exit code, or
// ERR_FAILED with the reason; recv drains what the child sent, then
// gives ERR_CLOSED when it exited (with any code, closed or not) and
// ERR_FAILED with the reason when it failed. The tree shows the same.
func TestChildEnds(t *testing.T) {
	m := startTreeMesh(t, 1)
	tests := []struct {
		name   string
		args   []string
		want   []string // the parent's lines; a line ending in "..." is a prefix
		status task.Status
		code   int32
		error  string // in the child's view
	}{
		{name: "trap", args: []string{"wait", "--", "trap"},
			want:   []string{"child 1: wait: SHOAL_ERR_FAILED: ...process trap/0#0.1: trap: unreachable", "wasm stack trace:", "..."},
			status: task.Failed, code: -1, error: "unreachable"},
		{name: "exit 3", args: []string{"wait", "--", "exit", "3"},
			want:   []string{"child 1: exit 3"},
			status: task.Failed, code: 3},
		{name: "exit 0", args: []string{"wait", "--", "exit", "0"},
			want:   []string{"child 1: exit 0"},
			status: task.Succeeded, code: 0},
		{name: "exit 3 after sending, without close", args: []string{"drain", "--", "flood", "5", "16", "3"},
			want:   []string{"received 5", "recv: SHOAL_ERR_CLOSED: ...", "child 1: exit 3"},
			status: task.Failed, code: 3},
		{name: "exit 0 after sending, without close", args: []string{"drain", "--", "flood", "70", "16"},
			want:   []string{"received 70", "recv: SHOAL_ERR_CLOSED: ...", "child 1: exit 0"},
			status: task.Succeeded, code: 0},
		{name: "echo closes", args: []string{"feed", "3", "8", "--", "echo"},
			want:   []string{"child 1: exit 0"},
			status: task.Succeeded, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			id = strings.ReplaceAll(id, ",", "")
			postTree(t, m.URL, id, tt.args)
			v := waitDone(t, m.URL, id)
			if v.Status != task.Succeeded {
				t.Fatalf("parent: %s: %+v", v.Status, v.Runs)
			}
			got := stdout(t, m.URL, id, 0)
			if !matchLines(got, tt.want) {
				t.Fatalf("parent printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			c := child(t, v, 1)
			if c.Status != api.Status(tt.status) || c.ExitCode != tt.code || !strings.Contains(c.Error, tt.error) || (tt.error == "") != (c.Error == "") {
				t.Fatalf("child: %s, exit %d, error %q; want %s, %d, %q", c.Status, c.ExitCode, c.Error, tt.status, tt.code, tt.error)
			}
			mustReleaseAll(t, m)
		})
	}
}

// matchLines says whether got has want's lines: each equal, or, for a
// want ending in "...", starting with what is before it, and for one
// with "..." inside, holding the two parts in order; a last want of
// "..." stands for any lines.
func matchLines(got, want []string) bool {
	if n := len(want); n > 0 && want[n-1] == "..." && len(got) >= n-1 {
		got, want = got[:n-1], want[:n-1]
	}
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		before, after, ok := strings.Cut(w, "...")
		if !ok {
			if got[i] != w {
				return false
			}
			continue
		}
		rest, ok := strings.CutPrefix(got[i], before)
		if !ok || !strings.Contains(rest, after) {
			return false
		}
	}
	return true
}
