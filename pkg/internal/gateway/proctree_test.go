package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
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
	var out strings.Builder
	for _, e := range logEntries(tb, url, id) {
		if e.Stream == "stdout" && e.Process == pid {
			out.WriteString(e.Data) // a line may come in several writes
		}
	}
	if out.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
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

// labelledMesh starts a mesh of two two-core workers labelled role=a and
// role=b, in the pool; workers[0] is a's.
func labelledMesh(tb testing.TB) (*meshtest.Mesh, []*meshtest.Worker) {
	tb.Helper()
	m := meshtest.Start(tb, meshtest.Options{Slots: 2})
	var ws []*meshtest.Worker
	for _, role := range []string{"a", "b"} {
		cfg := twoCoreWorker()
		cfg.Labels = []string{"role=" + role}
		ws = append(ws, m.AddWorkerWith(cfg))
	}
	m.WaitWorkers(2)
	return m, ws
}

// onA pins a task's root on the worker labelled role=a.
var onA = field{name: "labels", value: "role=a"}

// When a parent exits, its children still running are ended ("parent
// ended"), wherever they run and whatever they are doing; their
// reservations are given back and the tree shows them canceled.
func TestParentEndEndsChildren(t *testing.T) {
	m, _ := labelledMesh(t)
	for _, mode := range []string{"recv-forever", "spin"} {
		t.Run(mode, func(t *testing.T) {
			// Child 1 beside its parent, child 2 on the other worker.
			args := []string{"leave", "count=2", "cores=2", "near=parent", "--", mode}
			postTree(t, m.URL, mode, args, onA)
			v := waitDone(t, m.URL, mode)
			if v.Status != task.Succeeded || !slices.Equal(stdout(t, m.URL, mode, 0), []string{"leaving"}) {
				t.Fatalf("parent: %s, printed %q", v.Status, stdout(t, m.URL, mode, 0))
			}
			mustReleaseAll(t, m)
			v = getTask(t, m.URL, mode)
			if c1, c2 := child(t, v, 1), child(t, v, 2); c1.Worker == c2.Worker {
				t.Fatalf("both children on %s", c1.Worker)
			}
			for _, pid := range []int{1, 2} {
				if c := child(t, v, pid); c.Status != api.Status(task.Canceled) || c.Error != "parent ended" || c.Ended.IsZero() {
					t.Errorf("child %d: %s %q, ended %v; want canceled, parent ended", pid, c.Status, c.Error, c.Ended)
				}
			}
		})
	}
}

// Canceling a task ends its whole tree, running and queued processes
// alike, and gives every reservation back.
func TestCancelEndsTree(t *testing.T) {
	m := startTreeMesh(t, 2)
	// 2 cores each on two workers of 2: the fifth waits for room.
	postTree(t, m.URL, "doomed", []string{"wait", "count=5", "cores=1", "--", "spin"})
	meshtest.Eventually(t, "the root and four children running, one queued", func() bool {
		v := getTask(t, m.URL, "doomed")
		n := map[api.Status]int{}
		for _, p := range v.Processes {
			n[p.Status]++
		}
		return len(v.Processes) == 6 && n[api.Status(task.Running)] == 5 && n[api.Status(task.Queued)] == 1
	})
	req, _ := http.NewRequest(http.MethodDelete, m.URL+"/tasks/doomed", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	v := waitDone(t, m.URL, "doomed")
	if v.Status != task.Canceled {
		t.Fatalf("task: %s", v.Status)
	}
	mustReleaseAll(t, m)
	v = getTask(t, m.URL, "doomed")
	for _, p := range v.Processes {
		if !task.Status(p.Status).Done() || p.Ended.IsZero() {
			t.Errorf("process %d: %s, ended %v", p.PID, p.Status, p.Ended)
		}
	}
}

// A spawn that no worker could ever take is refused at once: the first
// call on its handle (here wait) fails with ERR_SPAWN and why; one that
// does not fit now waits until a sibling gives its cores back.
func TestSpawnPlacement(t *testing.T) {
	m := startTreeMesh(t, 1)
	for _, tt := range []struct{ name, field, why string }{
		{"too many cores", "cores=64", "no worker could ever take it (cores 64"},
		{"too much memory", "memory=2GiB", "no worker could ever take it (cores 1/16, memory 2 GiB"},
		{"no such label", "label=gpu=yes", "labels [gpu=yes]"},
		{"no cores", "cores=0", "a process must reserve some cores and memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			postTree(t, m.URL, id, []string{"wait", tt.field, "--", "exit", "0"})
			v := waitDone(t, m.URL, id)
			out := stdout(t, m.URL, id, 0)
			if len(out) != 1 || !strings.HasPrefix(out[0], "child 1: wait: SHOAL_ERR_SPAWN: ") || !strings.Contains(out[0], tt.why) {
				t.Fatalf("%s, printed %q; want a refused spawn saying %q", v.Status, out, tt.why)
			}
			if len(v.Processes) > 1 {
				t.Fatalf("a refused spawn made a process: %+v", v.Processes)
			}
		})
	}
	t.Run("waits for room", func(t *testing.T) {
		postTree(t, m.URL, "queue", []string{"wait", "count=3", "cores=1", "--", "exit", "0"})
		v := waitDone(t, m.URL, "queue")
		out := stdout(t, m.URL, "queue", 0)
		if v.Status != task.Succeeded || !slices.Equal(out, []string{"child 1: exit 0", "child 2: exit 0", "child 3: exit 0"}) {
			t.Fatalf("%s, printed %q", v.Status, out)
		}
		// The third reserved only once one of the first two had released:
		// the worker has 2 cores.
		var held, most int
		for _, l := range lines(logEntries(t, m.URL, "queue"), "shoal") {
			switch {
			case strings.Contains(l, " Reserving "):
				held++
			case strings.Contains(l, " Releasing "):
				held--
			}
			most = max(most, held)
		}
		if most != 2 || held != 0 {
			t.Fatalf("at most %d reservations held at once, %d at the end; want 2, 0", most, held)
		}
		mustReleaseAll(t, m)
	})
}

// near=parent puts a child on its parent's worker while that has room;
// labels confine children to the workers that offer them.
func TestSpawnNearAndLabels(t *testing.T) {
	m, ws := labelledMesh(t)
	a, b := ws[0].Host.ID().String(), ws[1].Host.ID().String()
	tests := []struct {
		name string
		args []string
		want []string // each child's worker
	}{
		{"near parent", []string{"wait", "count=3", "near=parent", "--", "exit", "0"}, []string{a, a, a}},
		{"near parent while it has room", []string{"wait", "count=3", "cores=1", "near=parent", "--", "recv-forever"}, nil},
		{"label", []string{"wait", "count=3", "label=role=b", "--", "exit", "0"}, []string{b, b, b}},
		{"label and near", []string{"wait", "count=2", "label=role=b", "near=parent", "--", "exit", "0"}, []string{b, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			postTree(t, m.URL, id, tt.args, onA, field{name: "timeout", value: "1"})
			v := waitDone(t, m.URL, id)
			var got []string
			for _, p := range v.Processes[1:] {
				got = append(got, p.Worker)
			}
			want := tt.want
			if want == nil { // two fill a's 2 cores, the third goes to b
				want = []string{a, a, b}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("children on %q, want %q (a %s, b %s)", got, want, a, b)
			}
			mustReleaseAll(t, m)
		})
	}
}

// A child whose worker is lost fails with "worker lost", is not run
// again, and its parent's wait says so; the parent goes on.
func TestChildWorkerLost(t *testing.T) {
	m, ws := labelledMesh(t)
	postTree(t, m.URL, "lost", []string{"wait", "label=role=b", "--", "spin"}, onA)
	meshtest.Eventually(t, "the child spinning on b", func() bool {
		v := getTask(t, m.URL, "lost")
		return len(v.Processes) == 2 && v.Processes[1].Status == api.Status(task.Running)
	})
	ws[1].Kill()
	v := waitDone(t, m.URL, "lost")
	out := stdout(t, m.URL, "lost", 0)
	if v.Status != task.Succeeded || !matchLines(out, []string{"child 1: wait: SHOAL_ERR_FAILED: ...worker lost"}) {
		t.Fatalf("parent: %s, printed %q", v.Status, out)
	}
	if c := child(t, v, 1); c.Status != api.Status(task.Failed) || !strings.Contains(c.Error, "worker lost") {
		t.Fatalf("child: %s %q", c.Status, c.Error)
	}
	if len(v.Processes) != 2 {
		t.Fatalf("the lost child was run again: %+v", v.Processes)
	}
}

// A mesh that stops while a tree runs across its workers. The gateway
// hangs up on its workers before it has every outcome, and a child's end
// that comes after its parent's connection was released must not reach
// for it (it did: "AddRef on released client" took the gateway down,
// most often with a short grace). A worker whose children are blocked in
// process calls on its closing connection must still stop (with no
// grace, its close waited for them until their time limit).
func TestMeshStopsUnderTree(t *testing.T) {
	for _, grace := range []time.Duration{0, 200 * time.Millisecond} {
		cfg := twoCoreWorker()
		cfg.Grace = grace
		for i := range 4 {
			t.Run(fmt.Sprintf("grace %s/%d", grace, i), func(t *testing.T) {
				m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 2, Worker: &cfg})
				m.WaitWorkers(2)
				postTree(t, m.URL, "tree", []string{"wait", "count=6", "--", "spin"})
				meshtest.Eventually(t, "children running", func() bool {
					v := getTask(t, m.URL, "tree")
					return len(v.Processes) == 7 && v.Processes[6].Status == api.Status(task.Running)
				})
				m.Close()
			})
		}
	}
}

// Backpressure across workers: a flood between a parent and a child on
// different workers, received slowly, arrives whole and in order, both
// ways; and the memory the child's flood of 24 MiB holds at once stays
// far below it: each channel's mailbox holds at most proc.MailboxBytes,
// and every send waits for the one before it. Measured as the peak of
// the live heap (after a collection, as TestMemoryIsFlatInWhatTasksHold
// measures the gateway's) while the flood runs. The peak is the same
// for floods of 24 MiB and 96 MiB (about 13 MiB over the idle mesh,
// half of it the two guests and their runs), which -race runs too
// slowly to measure.
func TestBackpressureAcrossWorkers(t *testing.T) {
	m, _ := labelledMesh(t)
	postTree(t, m.URL, "warm", []string{"wait", "label=role=b", "--", "exit", "0"}, onA)
	waitDone(t, m.URL, "warm") // the module compiled on both workers
	size := strconv.Itoa(64 << 10)
	tests := []struct {
		name  string
		args  []string
		want  []string
		bound int64 // of the heap's growth; 0: not measured
	}{
		{"child floods its parent", []string{"slow", "label=role=b", "--", "flood", "384", size},
			[]string{"received 384 in order", "recv: SHOAL_ERR_CLOSED: ...", "child 1: exit 0"}, 16 << 20},
		{"parent floods its child", []string{"feed", "64", size, "label=role=b", "--", "slow-recv"},
			[]string{"child 1: exit 0"}, 0}, // slow-recv exits 1 for a message out of order
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-")
			grew := peakGrowth(func() {
				postTree(t, m.URL, id, tt.args, onA)
				v := waitDone(t, m.URL, id)
				if out := stdout(t, m.URL, id, 0); v.Status != task.Succeeded || !matchLines(out, tt.want) {
					t.Fatalf("%s, printed %q; want %q", v.Status, out, tt.want)
				}
			})
			t.Logf("the heap grew by at most %.1f MiB", float64(grew)/(1<<20))
			if tt.bound > 0 && grew > tt.bound {
				t.Fatalf("the heap grew by %d bytes while 24 MiB went through, over the bound of %d", grew, tt.bound)
			}
		})
	}
}

// peakGrowth runs f and returns how far the live heap rose above where
// it was before, at the highest of samples taken while f ran.
func peakGrowth(f func()) int64 {
	before := heap()
	peak := make(chan uint64)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var most uint64
		for {
			most = max(most, heap())
			select {
			case <-stop:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	return int64(<-peak) - int64(before)
}

// A hostile guest. Bad pointers, lengths and handles to every shoal
// function are ERR_INVALID (wasmrun's TestProcessCalls has the spawn,
// send and recv lengths; this has the rest, on a real worker). A guest
// that spawns in a loop without waiting is bounded by its time limit:
// the spawns beyond what the workers can hold queue, none is refused for
// it, the limit ends the whole tree, and the workers serve on.
func TestHostileGuest(t *testing.T) {
	m := startTreeMesh(t, 2)
	t.Run("bad arguments", func(t *testing.T) {
		postTree(t, m.URL, "hostile", []string{"wait", "--", "hostile"})
		v := waitDone(t, m.URL, "hostile")
		got := stdout(t, m.URL, "hostile", 1)
		want := slices.Repeat([]string{"-1"}, 11) // shoal_error SHOAL_ERR_INVALID
		if v.Status != task.Succeeded || !slices.Equal(got, want) {
			t.Fatalf("%s; the child's codes %q, want %q", v.Status, got, want)
		}
	})
	t.Run("spawn loop", func(t *testing.T) {
		// 62 of 1/16 core fit on the two workers; the other 138 queue.
		postTree(t, m.URL, "loop", []string{"spawned", "count=200", "--", "recv-forever"}, field{name: "timeout", value: "3"})
		v := waitDone(t, m.URL, "loop")
		if out := stdout(t, m.URL, "loop", 0); v.Status != task.Failed || !slices.Equal(out, []string{"spawned 200"}) {
			t.Fatalf("%s, printed %q; want failed at its time limit after spawning 200", v.Status, out)
		}
		mustReleaseAll(t, m)
		v = getTask(t, m.URL, "loop")
		if len(v.Processes) != 201 {
			t.Fatalf("%d processes, want 201", len(v.Processes))
		}
		for _, p := range v.Processes {
			if !task.Status(p.Status).Done() {
				t.Fatalf("process %d still %s", p.PID, p.Status)
			}
		}
		postTree(t, m.URL, "after", []string{"wait", "count=2", "--", "exit", "0"})
		if v := waitDone(t, m.URL, "after"); v.Status != task.Succeeded || len(m.Gateway.Workers()) != 2 {
			t.Fatalf("after the loop: %s, %d workers", v.Status, len(m.Gateway.Workers()))
		}
	})
}

// A tree may have at most the gateway's MaxProcesses spawned processes
// running at once: a spawn past it is refused, and once children end the
// tree may spawn again.
func TestMaxProcesses(t *testing.T) {
	gcfg := gateway.DefaultConfig()
	gcfg.MaxProcesses = 2
	wcfg := twoCoreWorker()
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2, Worker: &wcfg, Gateway: &gcfg})
	m.WaitWorkers(1)
	// Each child says "ready" and waits; the parent receives from each.
	postTree(t, m.URL, "limited", []string{"leave", "count=3", "--", "recv-forever"})
	v := waitDone(t, m.URL, "limited")
	out := strings.Join(stdout(t, m.URL, "limited", 0), "\n")
	if !strings.HasPrefix(out, "recv: SHOAL_ERR_SPAWN: ") || !strings.Contains(out, "has 2 processes running, its limit") {
		t.Fatalf("%s; the third spawn of a tree limited to 2: %s", v.Status, out)
	}
	postTree(t, m.URL, "again", []string{"wait", "count=2", "--", "exit", "0"})
	waitDone(t, m.URL, "again")
	if out := stdout(t, m.URL, "again", 0); len(out) != 2 || out[0] != "child 1: exit 0" || out[1] != "child 2: exit 0" {
		t.Fatalf("a new tree after the limited one: %q", out)
	}
}
