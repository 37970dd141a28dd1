package dashboard_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// The task view of a real spawning task, examples/mapreduce on two
// workers: its tree by parent (pid, status, worker, cores, memory, exit
// code, key) as the gateway fills Task.Processes, and each log line
// tagged with the pid that wrote it, the gateway's reservation lines
// among them.
func TestDashboardShowsTheProcessTree(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2})
	m.WaitWorkers(2)
	b := startBrowser(t) // closed first: its log stream of a task that has not ended holds the gateway's server
	var mod struct{ Module string }
	if code := call(t, "PUT", m.URL+"/modules", "", "application/wasm", wasm.MapReduce, &mod); code != 201 {
		t.Fatalf("PUT /modules: %d", code)
	}
	body := fmt.Sprintf(`[{"id": "tree", "module": %q}]`, mod.Module)
	if code := call(t, "POST", m.URL+"/tasks/batch", "", "application/json", []byte(body), nil); code != 201 {
		t.Fatalf("batch: %d", code)
	}
	var tv api.Task
	if code := call(t, "GET", m.URL+"/tasks/tree?wait=30", "", "", nil, &tv); code != 200 || tv.Status != api.Succeeded || len(tv.Processes) != 5 {
		t.Fatalf("GET /tasks/tree: %d: %s, %d processes (%+v)", code, tv.Status, len(tv.Processes), tv.Runs)
	}

	b.do("opening the task", chromedp.Navigate(m.URL+"/#/tasks/tree"))
	b.waitFor("the tree", `!document.getElementById('processes').hidden &&
		document.querySelectorAll('#process-trees tr[data-pid]').length === 5`)
	rows := eval[[][]string](b, `[...document.querySelectorAll('#process-trees tbody tr')].map((tr) =>
		[...tr.cells].map((td) => td.textContent).concat(tr.cells[2].title))`)
	var want [][]string
	for i, p := range tv.Processes {
		indent, cores, mem := "", "", ""
		switch {
		case i == len(tv.Processes)-1:
			indent = "└─ "
		case i > 0:
			indent = "├─ "
		}
		if i > 0 {
			cores, mem = "1/16", "64 MiB" // the gateway's --spawn-cores and --spawn-memory
		}
		want = append(want, []string{indent + strconv.Itoa(p.PID), "succeeded", "…" + p.Worker[len(p.Worker)-16:], cores, mem, "0", p.Key, p.Worker})
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("tree shown:\n%q\nwant\n%q", rows, want)
	}
	if n := eval[int](b, `document.querySelectorAll('#process-trees h3').length`); n != 0 {
		t.Errorf("a single tree has %d titles, want none", n)
	}
	b.waitFor("the end of the log stream", `document.getElementById('log-state').textContent === 'ended'`)
	logs := strings.Split(strings.TrimSuffix(eval[string](b, `document.getElementById('logs').textContent`), "\n"), "\n")
	// The children's reservation lines come in any order between workers;
	// the answer is the root's last line.
	slices.Sort(logs[:len(logs)-1])
	var wantLogs []string
	for pid := 1; pid <= 4; pid++ {
		for _, verb := range []string{"Releasing", "Reserving"} {
			wantLogs = append(wantLogs, fmt.Sprintf("run 0 [%d] shoal │ %s resources for %d on ", pid, verb, pid))
		}
	}
	wantLogs = append(wantLogs, "run 0 [0] out │ the answer is 2832")
	ok := len(logs) == len(wantLogs)
	for i := 0; ok && i < len(logs); i++ {
		ok = strings.HasPrefix(logs[i], wantLogs[i]) && (i == len(logs)-1 || strings.HasSuffix(logs[i], "delta: cores=1/16,memory=64 MiB)"))
	}
	if !ok {
		t.Errorf("logs:\n%s\nwant, sorted, lines starting\n%s", strings.Join(logs, "\n"), strings.Join(wantLogs, "\n"))
	}
	b.screenshot("dashboard-processes.png")

	// A task without processes shows no tree.
	if code := call(t, "PUT", m.URL+"/modules", "", "application/wasm", wasm.HashC, &mod); code != 201 {
		t.Fatalf("PUT /modules: %d", code)
	}
	body = fmt.Sprintf(`[{"id": "plain", "module": %q, "start": 3600}]`, mod.Module)
	if code := call(t, "POST", m.URL+"/tasks/batch", "", "application/json", []byte(body), nil); code != 201 {
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

// Several run attempts: a tree each, titled by run and retry; nested
// children, cores as the gateway's lines write them, and the exit column
// of processes that ended without a code (the gateway's -1).
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
		{ pid: 3, parent: 1, run: 1, attempt: 0, status: 'canceled', exit_code: -1, cores: 0.063, ended: '2030-01-01T00:00:00Z' },
		{ pid: 2, parent: 1, run: 1, attempt: 0, status: 'failed', exit_code: -1, cores: 0.063, error: 'wasm error: unreachable' },
	]).map((e) => e.tagName === 'H3' ? e.textContent :
		[...e.querySelectorAll('tbody tr')].map((tr) => [0, 3, 5].map((i) => tr.cells[i].textContent).join(' ')).join('; ')))`,
		chromedp.EvalAwaitPromise)
	want := []string{"Run 0", "0  3; 7  ", "Run 0 (retry 1)", "0  error: worker lost", "Run 1",
		"0  ; └─ 1  ;    ├─ 2 1/16 error: wasm error: unreachable;    └─ 3 1/16 "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("trees: %q, want %q", got, want)
	}
	b.checkConsole(nil)
}
