package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// field is one multipart field; file fields carry bytes.
type field struct {
	name, value string
	file        []byte
}

func form(fields ...field) (string, *bytes.Buffer) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if f.file != nil {
			w, _ := mw.CreateFormFile(f.name, f.name+".bin")
			w.Write(f.file)
			continue
		}
		mw.WriteField(f.name, f.value)
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

func mustPost(tb testing.TB, url string, fields ...field) api.Task {
	tb.Helper()
	ct, body := form(fields...)
	resp, err := http.Post(url+"/tasks", ct, body)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST /tasks: %d %s", resp.StatusCode, b)
	}
	var v api.Task
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func getTask(tb testing.TB, url, id string) api.Task {
	tb.Helper()
	resp, err := http.Get(url + "/tasks/" + id)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var v api.Task
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// waitDone polls a task until it has ended.
func waitDone(tb testing.TB, url, id string) api.Task {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := getTask(tb, url, id)
		if v.Status.Done() {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %s still %s after 30s: %+v", id, v.Status, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStatus polls a task until it has the given status.
func waitStatus(tb testing.TB, url, id string, want task.Status) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v := getTask(tb, url, id); v.Status != want; v = getTask(tb, url, id) {
		if time.Now().After(deadline) {
			tb.Fatalf("task %s is %s after 10s, want %s", id, v.Status, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func testModule(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../wasmrun/testdata/" + name + ".wasm")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The ww-scheduler's task, scaled down in time: three runs of the hash
// puzzle through two workers that found the gateway by multicast on lo.
func TestHashPuzzleThroughDiscoveredWorkers(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Discovery: true})
	m.WaitWorkers(2)
	v := mustPost(t, m.URL,
		field{name: "id", value: "task1"}, field{name: "description", value: "Hash puzzle"},
		field{name: "complete", value: "0"}, field{name: "duration", value: "5"},
		field{name: "start", value: "0.1"}, field{name: "delay", value: "0.2"},
		field{name: "repeats", value: "3"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "3"})
	if v.Status != task.Scheduled || v.Repeats != 3 || v.Duration != 5 {
		t.Fatalf("accepted task = %+v", v)
	}
	v = waitDone(t, m.URL, "task1")
	if v.Status != task.Succeeded || v.Completions != 3 || v.Result != "2832" {
		t.Fatalf("task = %s, completions %d, result %q; want succeeded, 3, 2832", v.Status, v.Completions, v.Result)
	}
	for _, r := range v.Runs {
		if r.Worker == "" || r.Result != "2832" || r.Started.Before(v.Created.Add(100*time.Millisecond)) {
			t.Errorf("run %d = %+v", r.Index, r)
		}
	}
	if d := v.Runs[2].Started.Sub(v.Runs[1].Started); d < 150*time.Millisecond {
		t.Errorf("runs 1 and 2 started %v apart, want about the 0.2s delay", d)
	}
}

// Placement is by free capacity, not map order: two equal workers share
// 100 tasks about evenly.
func TestPlacementSharesEqualWorkers(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 2})
	m.WaitWorkers(2)
	// Warm both: eight runs due at once fill both workers' slots. Else the
	// first worker to compile the module keeps every later task while it
	// has a free slot (warm placement), and the two are not equal.
	mustPost(t, m.URL, field{name: "id", value: "warm"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "1"}, field{name: "difficulty", value: "4"}, field{name: "repeats", value: "8"})
	if v := waitDone(t, m.URL, "warm"); v.Status != task.Succeeded {
		t.Fatalf("warm: %+v", v)
	}
	for i := range 100 {
		mustPost(t, m.URL, field{name: "id", value: fmt.Sprint("t", i)}, field{name: "wasm", file: wasm.HashC},
			field{name: "input", value: fmt.Sprint(i)}, field{name: "difficulty", value: "1"})
	}
	count := map[string]int{}
	for i := range 100 {
		v := waitDone(t, m.URL, fmt.Sprint("t", i))
		if v.Status != task.Succeeded {
			t.Fatalf("t%d: %+v", i, v)
		}
		count[v.Runs[0].Worker]++
	}
	t.Logf("tasks per worker: %v", count)
	if len(count) != 2 {
		t.Fatalf("tasks went to %d workers: %v", len(count), count)
	}
	for w, n := range count {
		if n < 40 || n > 60 {
			t.Errorf("worker %s got %d of 100 tasks, want 40-60", w, n)
		}
	}
}

// A task submitted before any worker exists waits and runs when one joins.
func TestTaskWaitsForFirstWorker(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	mustPost(t, m.URL, field{name: "id", value: "early"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "2"})
	waitStatus(t, m.URL, "early", task.Queued)
	m.AddWorker()
	if v := waitDone(t, m.URL, "early"); v.Status != task.Succeeded {
		t.Fatalf("after a worker joined: %+v", v)
	}
}

// Hostile modules end as failed runs with their reason, or, for a flood of
// output, as a run whose result is cut at the gateway's MaxOutput and marked
// truncated; after each, the same worker takes and completes a good task.
func TestHostileModulesFailAndWorkerLives(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	maxOutput := gateway.DefaultConfig().MaxOutput
	cases := []struct {
		module, duration, memory string
		status                   task.Status
		want                     string // in the run's error
	}{
		{"loop", "0.3", "", task.Failed, "time limit"},
		{"sleep", "0.3", "", task.Failed, "time limit"}, // an hour in poll_oneoff
		{"membomb", "5", "1MiB", task.Failed, "memory"},
		{"unreachable", "5", "", task.Failed, "unreachable"},
		{"recursion", "60", "", task.Failed, "stack"}, // seconds of CPU under -race before the stack runs out
		{"exit3", "5", "", task.Failed, "exit code 3"},
		{"flood", "20", "", task.Succeeded, ""},       // 128 MiB to stdout, then returns
		{"stdin_drain", "10", "", task.Succeeded, ""}, // reads stdin to EOF: none given, so at once
	}
	for _, c := range cases {
		t.Run(c.module, func(t *testing.T) {
			fs := []field{{name: "id", value: "bad-" + c.module}, {name: "wasm", file: testModule(t, c.module)}, {name: "duration", value: c.duration}}
			if c.memory != "" {
				fs = append(fs, field{name: "memory", value: c.memory})
			}
			mustPost(t, m.URL, fs...)
			v := waitDone(t, m.URL, "bad-"+c.module)
			r := v.Runs[0]
			if v.Status != c.status || r.Status != c.status || !strings.Contains(strings.ToLower(r.Error), c.want) {
				t.Fatalf("task %s, run %s with error %q; want %s with %q", v.Status, r.Status, r.Error, c.status, c.want)
			}
			if c.status == task.Failed && (r.ExitCode == 0 || r.Result != "") {
				t.Errorf("failed run has exit code %d and result %.20q", r.ExitCode, r.Result)
			}
			if c.module == "flood" {
				if !r.Truncated || len(r.Result) != maxOutput || strings.Trim(r.Result, "y") != "" || r.ExitCode != 0 {
					t.Errorf("flood: truncated %v, %d bytes of result (want %d of 'y'), exit code %d", r.Truncated, len(r.Result), maxOutput, r.ExitCode)
				}
			} else if r.Truncated {
				t.Errorf("run marked truncated")
			}
			mustPost(t, m.URL, field{name: "id", value: "after-" + c.module}, field{name: "wasm", file: wasm.HashC},
				field{name: "input", value: "0"}, field{name: "difficulty", value: "1"})
			after := waitDone(t, m.URL, "after-"+c.module)
			if after.Status != task.Succeeded || after.Runs[0].Worker != r.Worker {
				t.Fatalf("the next task after %s (on %s): %+v", c.module, r.Worker, after)
			}
		})
	}
}

// A WASI command gets argv, env and stdin; its stdout is the result and is
// streamed to the task's log.
func TestCommandModuleArgsStdinAndLogs(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	m.WaitWorkers(1)
	mustPost(t, m.URL, field{name: "id", value: "hi"}, field{name: "wasm", file: wasm.Hello},
		field{name: "args", value: `["a", "b c"]`}, field{name: "stdin", file: []byte("from stdin\n")})
	v := waitDone(t, m.URL, "hi")
	if v.Status != task.Succeeded || v.Result != "hello a b c\nfrom stdin\n" {
		t.Fatalf("task = %s result %q", v.Status, v.Result)
	}
	resp, err := http.Get(m.URL + "/tasks/hi/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var logs api.Logs
	json.NewDecoder(resp.Body).Decode(&logs)
	var out strings.Builder
	for _, e := range logs.Entries {
		out.WriteString(e.Data)
	}
	if !logs.Done || out.String() != v.Result {
		t.Fatalf("logs = %+v, want done with the whole output", logs)
	}
	// The default argv of a command is [id, input, difficulty].
	mustPost(t, m.URL, field{name: "id", value: "cmd"}, field{name: "wasm", file: wasm.HashCCommand},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "3"})
	if v := waitDone(t, m.URL, "cmd"); v.Result != "2832\n" {
		t.Fatalf("hash command: %+v", v)
	}
}

// DELETE stops a running task; its slot is free again.
func TestCancelRunningTask(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	mustPost(t, m.URL, field{name: "id", value: "forever"}, field{name: "wasm", file: testModule(t, "loop")}, field{name: "duration", value: "60"})
	waitStatus(t, m.URL, "forever", task.Running)
	req, _ := http.NewRequest(http.MethodDelete, m.URL+"/tasks/forever", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
	mustPost(t, m.URL, field{name: "id", value: "next"}, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	if v := waitDone(t, m.URL, "next"); v.Status != task.Succeeded {
		t.Fatalf("the slot was not freed by the cancel: %+v", v)
	}
	if v := getTask(t, m.URL, "forever"); v.Status != task.Canceled {
		t.Fatalf("canceled task is %s", v.Status)
	}
}

// A worker whose gateway restarts (same identity, new port) finds it again
// by discovery and re-offers by itself.
func TestWorkerReconnectsAfterGatewayRestart(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Discovery: true})
	m.WaitWorkers(1)
	m.RestartGateway()
	m.WaitWorkers(1)
	mustPost(t, m.URL, field{name: "id", value: "after-restart"}, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	if v := waitDone(t, m.URL, "after-restart"); v.Status != task.Succeeded {
		t.Fatalf("after restart: %+v", v)
	}
}

// A worker that goes away mid-run is noticed and its run is retried on
// another worker.
func TestLostWorkerRunIsRetried(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	first := m.Workers()[0]
	// About half a second of hashing: long enough to be cut off mid-run.
	mustPost(t, m.URL, field{name: "id", value: "sleepy"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "5"}, field{name: "duration", value: "20"})
	waitStatus(t, m.URL, "sleepy", task.Running)
	m.AddWorker()
	first.Kill()
	v := waitDone(t, m.URL, "sleepy")
	if v.Status != task.Succeeded || v.Runs[0].Attempt != 1 || v.Completions != 1 {
		t.Fatalf("after losing the worker: %+v", v)
	}
	mustCountLostRun(t, m)
}

// A worker dropped for missing pings is hung up on, so it notices and
// offers itself again instead of idling on a connection the gateway no
// longer uses. With a ping timeout nothing can meet, it is dropped and
// comes back over and over.
func TestDroppedWorkerRejoins(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.PingInterval, cfg.PingTimeout = 20*time.Millisecond, time.Nanosecond
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Gateway: &cfg})
	for i, want := range []int{1, 0, 1, 0, 1} {
		deadline := time.Now().Add(10 * time.Second)
		for len(m.Gateway.Workers()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: pool never had %d workers", i, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// Stopping a gateway while runs are being dispatched must not crash it,
// and its database carries every task across the restart: all runs end
// succeeded, each counted exactly once.
func TestRestartUnderLoad(t *testing.T) {
	const repeats = 600
	m := meshtest.Start(t, meshtest.Options{Workers: 3})
	m.WaitWorkers(3)
	for round := range 3 {
		id := fmt.Sprint("load", round)
		mustPost(t, m.URL, field{name: "id", value: id}, field{name: "wasm", file: wasm.HashC},
			field{name: "difficulty", value: "1"}, field{name: "repeats", value: fmt.Sprint(repeats)})
		deadline := time.Now().Add(20 * time.Second)
		for {
			tk, err := m.Gateway.Task(id)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Completions >= 20 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no progress", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		m.RestartGateway()
	}
	m.WaitWorkers(3)
	for round := range 3 {
		id := fmt.Sprint("load", round)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		tk, err := m.Gateway.Wait(ctx, id)
		cancel()
		if err != nil || tk.Status != task.Succeeded || tk.Completions != repeats {
			t.Fatalf("%s after restarts: %v %s, completions %d of %d", id, err, tk.Status, tk.Completions, repeats)
		}
	}
}

// A worker stopped gracefully (SIGTERM) takes no new runs but finishes the
// one it has; the gateway records its result from that first attempt.
func TestWorkerStopFinishesRunningRun(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	mustPost(t, m.URL, field{name: "id", value: "finish-me"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "4"}, field{name: "duration", value: "20"})
	waitStatus(t, m.URL, "finish-me", task.Running)
	m.Workers()[0].Stop()
	// The result is shown once its record is stored, just after the
	// worker's answer.
	v := waitDone(t, m.URL, "finish-me")
	if v.Status != task.Succeeded || v.Runs[0].Attempt != 0 {
		t.Fatalf("after a graceful stop: %+v", v)
	}
}

// What the gateway accepted survives a restart: a finished task with its
// result and output, a module by its hash, and a schedule, which continues
// at the due times it had.
func TestStateSurvivesRestart(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	m.WaitWorkers(1)
	done := mustPost(t, m.URL, field{name: "id", value: "hi"}, field{name: "wasm", file: wasm.Hello}, field{name: "args", value: `["x"]`})
	waitDone(t, m.URL, "hi")
	later := mustPost(t, m.URL, field{name: "id", value: "later"}, field{name: "wasm", file: wasm.HashC},
		field{name: "difficulty", value: "1"}, field{name: "start", value: "1"}, field{name: "delay", value: "0.5"}, field{name: "repeats", value: "2"})

	m.RestartGateway()
	m.WaitWorkers(1)
	v := getTask(t, m.URL, "hi")
	if v.Status != task.Succeeded || v.Result != "hello x\n" || !v.Created.Equal(done.Created) {
		t.Fatalf("finished task after restart: %+v", v)
	}
	resp, err := http.Get(m.URL + "/tasks/hi/logs")
	if err != nil {
		t.Fatal(err)
	}
	var logs api.Logs
	json.NewDecoder(resp.Body).Decode(&logs)
	resp.Body.Close()
	var out strings.Builder // the module writes in pieces; entries may split them
	for _, e := range logs.Entries {
		out.WriteString(e.Data)
	}
	if !logs.Done || out.String() != "hello x\n" {
		t.Fatalf("logs after restart: %+v", logs)
	}
	mustPost(t, m.URL, field{name: "id", value: "by-hash"}, field{name: "module", value: "sha256:" + done.Module})
	if v := waitDone(t, m.URL, "by-hash"); v.Status != task.Succeeded {
		t.Fatalf("a module uploaded before the restart: %+v", v)
	}
	v = waitDone(t, m.URL, "later")
	if v.Status != task.Succeeded || v.Completions != 2 {
		t.Fatalf("scheduled task after restart: %+v", v)
	}
	for i, r := range v.Runs {
		if due := later.Created.Add(time.Second + time.Duration(i)*500*time.Millisecond); r.Started.Before(due) {
			t.Errorf("run %d started %v, before its due time %v", i, r.Started, due)
		}
	}
}

// The sandbox through the mesh: a directory one worker offers is granted
// only to the tasks that name it, which run only there; every attempt to
// reach past it, or the host's environment, fails and is reported in the
// run's error and the task's log; nothing appears on the host outside it.
func TestSandboxDirsThroughMesh(t *testing.T) {
	t.Setenv("SHOAL_SANDBOX_SECRET", "do-not-leak")
	top := t.TempDir()
	granted := filepath.Join(top, "granted")
	if err := os.Mkdir(granted, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "secret.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	cfg := worker.DefaultConfig()
	cfg.Dirs = []wasmrun.Dir{{Name: "data", HostPath: granted}}
	offering := m.AddWorkerWith(cfg).Host.ID().String()
	m.WaitWorkers(2)
	probe := testModule(t, "sandbox/probe")

	// A module asking for a socket of its own is refused at upload.
	ct, body := form(field{name: "id", value: "sock"}, field{name: "wasm", file: testModule(t, "sandbox/sock_open")})
	resp, err := http.Post(m.URL+"/tasks", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "imports unknown host function wasi_snapshot_preview1.sock_open") {
		t.Fatalf("socket module: %d %s", resp.StatusCode, b)
	}

	// Granted: every run lands on the worker offering the directory, and
	// what it writes there appears on the host.
	mustPost(t, m.URL, field{name: "id", value: "write"}, field{name: "wasm", file: probe}, field{name: "dirs", value: "data"},
		field{name: "repeats", value: "4"}, field{name: "args", value: `["write", "/data/out.txt", "from the mesh", "read", "/data/out.txt"]`})
	v := waitDone(t, m.URL, "write")
	// The runs share the file and run two at a time: one may read it just
	// after another truncated it to write, so not every read sees 13 bytes.
	read := 0
	for _, r := range v.Runs {
		if strings.Contains(r.Result, "read /data/out.txt: ok 13 bytes: from the mesh\n") {
			read++
		}
	}
	if v.Status != task.Succeeded || read == 0 {
		t.Fatalf("write task: %+v", v)
	}
	for i, r := range v.Runs {
		if r.Worker != offering {
			t.Errorf("run %d on %s, which does not offer the directory; want %s", i, r.Worker, offering)
		}
	}
	if b, err := os.ReadFile(filepath.Join(granted, "out.txt")); err != nil || string(b) != "from the mesh" {
		t.Errorf("granted/out.txt on the host: %q, %v", b, err)
	}

	// Hostile: each attempt fails, the run fails, the log says why.
	mustPost(t, m.URL, field{name: "id", value: "escape"}, field{name: "wasm", file: probe}, field{name: "dirs", value: "data"},
		field{name: "env", value: "ONLY=this"}, field{name: "args", value: `["write", "/data/../escape", "x", "write", "/etc/x", "x",
			"read", "/etc/passwd", "symlink", "..", "/data/up", "write", "/data/up/escape", "x", "accept", "3", "env"]`})
	v = waitDone(t, m.URL, "escape")
	if v.Status != task.Failed || v.Runs[0].Error != "exit code 1" || v.Runs[0].Worker != offering {
		t.Fatalf("escape task: %+v", v)
	}
	out := taskLog(t, m.URL, "escape")
	for _, want := range []string{
		"write /data/../escape: failed: ", "write /etc/x: failed: ", "read /etc/passwd: failed: ",
		"symlink /data/up: failed: Operation not permitted\n", "write /data/up/escape: failed: ",
		"accept 3: failed: ", "env: ok: ONLY=this\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "do-not-leak") {
		t.Errorf("the guest saw the worker's environment:\n%s", out)
	}

	// No dirs: no file system at all.
	mustPost(t, m.URL, field{name: "id", value: "nofs"}, field{name: "wasm", file: probe}, field{name: "args", value: `["ls", "/data", "read", "/etc/passwd"]`})
	if v := waitDone(t, m.URL, "nofs"); v.Status != task.Failed || !strings.Contains(taskLog(t, m.URL, "nofs"), "ls /data: failed: ") {
		t.Fatalf("task without dirs: %+v\n%s", v, taskLog(t, m.URL, "nofs"))
	}

	// A directory no worker offers: the task waits, and holds up no other.
	if v := mustPost(t, m.URL, field{name: "id", value: "nowhere"}, field{name: "wasm", file: probe}, field{name: "dirs", value: "secrets"}); v.Status != task.Queued {
		t.Fatalf("task naming an unknown directory: %+v", v)
	}
	mustPost(t, m.URL, field{name: "id", value: "after"}, field{name: "wasm", file: wasm.HashC}, field{name: "input", value: "0"}, field{name: "difficulty", value: "1"})
	if v := waitDone(t, m.URL, "after"); v.Status != task.Succeeded {
		t.Fatalf("task after the waiting one: %+v", v)
	}
	if v := getTask(t, m.URL, "nowhere"); v.Status != task.Queued || len(v.Runs) != 1 || v.Runs[0].Worker != "" {
		t.Fatalf("task naming an unknown directory was placed: %+v", v)
	}

	var got []string
	filepath.WalkDir(top, func(p string, _ fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(top, p)
		got = append(got, rel)
		return err
	})
	if want := []string{".", "granted", "granted/out.txt", "secret.txt"}; !slices.Equal(got, want) {
		t.Errorf("on the host: %q; want %q", got, want)
	}
}

// taskLog returns a task's whole log.
func taskLog(tb testing.TB, url, id string) string {
	tb.Helper()
	var out strings.Builder
	for _, e := range logEntries(tb, url, id) {
		out.WriteString(e.Data)
	}
	return out.String()
}

// A worker that compiled a module offers again with the module among its
// cached ones; runs of that module then go to it while it has room, and
// never compile again.
func TestWarmPlacement(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 1})
	m.WaitWorkers(2)
	first := mustPost(t, m.URL, field{name: "id", value: "w0"}, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	v := waitDone(t, m.URL, "w0")
	warm := v.Runs[0].Worker
	deadline := time.Now().Add(10 * time.Second)
	for !cachedOn(m, warm, first.Module) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s never offered the module as cached: %+v", warm, m.Gateway.Workers())
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 10; i++ {
		id := fmt.Sprint("w", i)
		mustPost(t, m.URL, field{name: "id", value: id}, field{name: "module", value: "sha256:" + first.Module}, field{name: "difficulty", value: "1"})
		v := waitDone(t, m.URL, id)
		if r := v.Runs[0]; r.Worker != warm || r.Timing.Compile != 0 || r.Timing.Fetch != 0 {
			t.Fatalf("run %s on %s (compile %v, fetch %v), want the warm worker %s without fetch or compile", id, r.Worker, r.Timing.Compile, r.Timing.Fetch, warm)
		}
	}
}

func cachedOn(m *meshtest.Mesh, worker, module string) bool {
	for _, w := range m.Gateway.Workers() {
		if string(w.ID) == worker && slices.Contains(w.Cached, module) {
			return true
		}
	}
	return false
}

// A worker whose module cache drops a module offers again, so the
// gateway's placement no longer counts it warm for that module. Here the
// drop happens when a long run of the module ends (a module is not evicted
// while a run uses it), not when another module is compiled: without the
// new offer, the gateway would go on listing both modules.
func TestEvictionReoffers(t *testing.T) {
	wcfg := worker.DefaultConfig()
	// Room for one of the two modules: the second pushes the first out.
	wcfg.Runtime.ModuleCacheBytes = int64(6*(len(wasm.HashC)+len(wasm.Hello))) - 1
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2, Worker: &wcfg})
	m.WaitWorkers(1)
	w := m.Workers()[0].Worker
	// Compiled first, so that the long run holds its module from the moment
	// it is dispatched, before hello is compiled.
	hash := mustPost(t, m.URL, field{name: "id", value: "warm"}, field{name: "wasm", file: wasm.HashC}, field{name: "difficulty", value: "1"})
	waitDone(t, m.URL, "warm")
	mustPost(t, m.URL, field{name: "id", value: "long"}, field{name: "module", value: "sha256:" + hash.Module}, field{name: "difficulty", value: "5"})
	waitStatus(t, m.URL, "long", task.Running)
	hello := mustPost(t, m.URL, field{name: "id", value: "hello"}, field{name: "wasm", file: wasm.Hello})
	for _, id := range []string{"hello", "long"} {
		if v := waitDone(t, m.URL, id); v.Status != task.Succeeded {
			t.Fatalf("%s: %+v", id, v)
		}
	}
	// The gateway comes to list what the worker holds: one module, hello
	// unless the long run's module was pushed out before it began.
	deadline := time.Now().Add(10 * time.Second)
	for {
		held, offered := w.Cached(), m.Gateway.Workers()[0].Cached
		if slices.Equal(held, offered) && len(held) == 1 {
			if held[0] != hello.Module {
				t.Logf("the long run's module was evicted before the run took it: held %v", held)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker holds %v, the gateway lists %v", held, offered)
		}
		time.Sleep(time.Millisecond)
	}
}

// Stopping a gateway and its workers leaves no capability server behind:
// each worker connection's log sink is released at shutdown as when a
// worker leaves.
func TestShutdownReleasesCapabilities(t *testing.T) {
	servers := func() int {
		buf := make([]byte, 1<<22)
		return strings.Count(string(buf[:goruntime.Stack(buf, true)]), "capnp/v3/server.(*Server).handleCalls")
	}
	before := servers()
	m := meshtest.Start(t, meshtest.Options{Workers: 2})
	m.WaitWorkers(2)
	mustPost(t, m.URL, field{name: "id", value: "x"}, field{name: "wasm", file: wasm.HashCCommand}, field{name: "repeats", value: "4"})
	waitDone(t, m.URL, "x")
	m.Close()
	meshtest.Eventually(t, fmt.Sprintf("capability servers back to the %d running before the mesh started", before),
		func() bool { return servers() <= before })
}
