package dashboard_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// fakeTree makes the page's fetches of task "tree" answer with a process
// tree (procs, a JSON array of api.Process) and its log stream with the
// entries given (a JSON array of api.LogEntry) and then the task's end;
// every other request, the task itself included, goes to the gateway.
const fakeTree = `(() => {
  const procs = %s;
  const entries = %s;
  const real = window.fetch;
  window.fetch = async (input, init) => {
    const url = new URL(input, location.href);
    if (url.pathname === '/tasks/tree/logs') {
      const task = await (await real('tasks/tree')).json();
      task.processes = procs;
      const events = entries.map((e) => 'event: log\ndata: ' + JSON.stringify(e) + '\n\n');
      events.push('event: end\ndata: ' + JSON.stringify(task) + '\n\n');
      return new Response(events.join(''), { headers: { 'Content-Type': 'text/event-stream' } });
    }
    const res = await real(input, init);
    if (url.pathname !== '/tasks/tree' || !res.ok) return res;
    const task = await res.json();
    task.processes = procs;
    return new Response(JSON.stringify(task), { status: res.status, headers: res.headers });
  };
})()`

// The task view draws the process tree by parent (pid, status, worker,
// cores, memory, exit code or error, key) and tags each log line with the
// pid that wrote it. The gateway that fills Task.Processes and
// LogEntry.Process is built apart, so the page's fetches of the task are
// given a tree (fakeTree); the page and the rest of the API are real.
func TestDashboardShowsTheProcessTree(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	b := startBrowser(t) // closed first: its log stream of a task that has not ended holds the gateway's server
	var mod struct{ Module string }
	if code := call(t, "PUT", m.URL+"/modules", "", "application/wasm", wasm.HashC, &mod); code != 201 {
		t.Fatalf("PUT /modules: %d", code)
	}
	body := fmt.Sprintf(`[{"id": "tree", "module": %q, "start": 3600}]`, mod.Module)
	if code := call(t, "POST", m.URL+"/tasks/batch", "", "application/json", []byte(body), nil); code != 201 {
		t.Fatalf("batch: %d", code)
	}
	const w1, w2 = "12D3KooWRbjv5fxTUS2nPy9qy3F7TYFjpjntpy6f35Be3m2QK4PT", "12D3KooWx7Yq2aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456x7Yq2a"
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	procs := []api.Process{
		{PID: 2, Parent: 0, Key: "tree/0#0.2", Status: api.Running, Worker: w1, Cores: 0.0625, Memory: 64 << 20, Started: at},
		{PID: 0, Parent: -1, Key: "tree/0#0", Status: api.Running, Worker: w1, Cores: 1, Started: at},
		{PID: 3, Parent: 1, Key: "tree/0#0.3", Status: api.Failed, Worker: w2, Cores: 0.0625, Memory: 64 << 20, Started: at, Ended: at, Error: "wasm error: unreachable"},
		{PID: 1, Parent: 0, Key: "tree/0#0.1", Status: api.Succeeded, Worker: w2, Cores: 0.0625, Memory: 64 << 20, Started: at, Ended: at, ExitCode: 0},
	}
	entries := []api.LogEntry{
		{Seq: 1, Stream: "stdout", Data: "parent start\n"},
		{Seq: 2, Stream: "shoal", Process: 1, Data: "Reserving resources for 1 (delta: cores=0.0625,memory=64 MiB)\n"},
		{Seq: 3, Stream: "stdout", Process: 1, Data: "child start\n"},
		{Seq: 4, Stream: "stderr", Process: 3, Data: "child trapped\n"},
	}
	pj, _ := json.Marshal(procs)
	ej, _ := json.Marshal(entries)

	b.do("opening the dashboard", chromedp.Navigate(m.URL+"/#/cluster"))
	b.waitFor("the page", `document.getElementById('summary').textContent !== ''`)
	b.do("answering with a process tree", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(fakeTree, pj, ej)))
	b.do("opening the task", chromedp.Evaluate[chromedp.Void](`location.hash = '#/tasks/tree'`))
	b.waitFor("the tree", `!document.getElementById('processes').hidden &&
		document.querySelectorAll('#process-trees tr[data-pid]').length === 4`)
	rows := eval[[][]string](b, `[...document.querySelectorAll('#process-trees tbody tr')].map((tr) =>
		[...tr.cells].map((td) => td.textContent).concat(tr.cells[2].title))`)
	want := [][]string{
		{"0", "running", "…" + w1[len(w1)-16:], "1", "", "", "tree/0#0", w1},
		{"├─ 1", "succeeded", "…" + w2[len(w2)-16:], "0.0625", "64 MiB", "0", "tree/0#0.1", w2},
		{"│  └─ 3", "failed", "…" + w2[len(w2)-16:], "0.0625", "64 MiB", "error: wasm error: unreachable", "tree/0#0.3", w2},
		{"└─ 2", "running", "…" + w1[len(w1)-16:], "0.0625", "64 MiB", "", "tree/0#0.2", w1},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("tree shown:\n%q\nwant\n%q", rows, want)
	}
	if n := eval[int](b, `document.querySelectorAll('#process-trees h3').length`); n != 0 {
		t.Errorf("a single tree has %d titles, want none", n)
	}
	b.waitFor("the end of the log stream", `document.getElementById('log-state').textContent === 'ended'`)
	logs := eval[string](b, `document.getElementById('logs').textContent`)
	wantLogs := "run 0 [0] out │ parent start\n" +
		"run 0 [1] shoal │ Reserving resources for 1 (delta: cores=0.0625,memory=64 MiB)\n" +
		"run 0 [1] out │ child start\n" +
		"run 0 [3] err │ child trapped\n"
	if logs != wantLogs {
		t.Errorf("logs:\n%s\nwant\n%s", logs, wantLogs)
	}
	b.screenshot("dashboard-processes.png")

	// A task without processes shows no tree.
	if code := call(t, "POST", m.URL+"/tasks/batch", "", "application/json", []byte(strings.ReplaceAll(body, `"tree"`, `"plain"`)), nil); code != 201 {
		t.Fatalf("batch: %d", code)
	}
	b.do("opening a task without processes", chromedp.Evaluate[chromedp.Void](`location.hash = '#/tasks/plain'`))
	b.waitFor("the task", `document.getElementById('task-id').textContent === 'plain' &&
		document.querySelector('#task-status-badge .badge')?.textContent === 'scheduled'`)
	if !eval[bool](b, `document.getElementById('processes').hidden && document.getElementById('process-trees').childElementCount === 0`) {
		t.Error("a task without processes shows a tree")
	}
	b.checkConsole(nil)
}

// Several run attempts: a tree each, titled by run and retry.
func TestDashboardProcessTreesByAttempt(t *testing.T) {
	b := startBrowser(t)
	m := meshtest.Start(t, meshtest.Options{})
	b.do("opening the dashboard", chromedp.Navigate(m.URL+"/"))
	got := eval[[]string](b, `import('./ui/procs.js').then(({ processTables }) => processTables([
		{ pid: 1, parent: 0, run: 1, attempt: 0, status: 'queued' },
		{ pid: 0, parent: -1, run: 1, attempt: 0, status: 'running' },
		{ pid: 0, parent: -1, run: 0, attempt: 1, status: 'failed', error: 'worker lost' },
		{ pid: 0, parent: -1, run: 0, attempt: 0, status: 'succeeded', exit_code: 3 },
		{ pid: 7, parent: 6, run: 0, attempt: 0, status: 'running' },
	]).map((e) => e.tagName === 'H3' ? e.textContent :
		[...e.querySelectorAll('tbody tr')].map((tr) => tr.cells[0].textContent + ' ' + tr.cells[5].textContent).join('; ')))`,
		chromedp.EvalAwaitPromise)
	want := []string{"Run 0", "0 3; 7 ", "Run 0 (retry 1)", "0 error: worker lost", "Run 1", "0 ; └─ 1 "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("trees: %q, want %q", got, want)
	}
	b.checkConsole(nil)
}
