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

// putNamed uploads a module under a name, for jobs' steps to run.
func putNamed(tb testing.TB, url, name string, mod []byte) {
	tb.Helper()
	var m api.Module
	if code := call(tb, "PUT", url+"/modules?name="+name, "", "application/wasm", mod, &m); code != 201 || m.Name != name {
		tb.Fatalf("PUT /modules?name=%s: %d %+v", name, code, m)
	}
}

func postJob(tb testing.TB, url, body string) {
	tb.Helper()
	if code := call(tb, "POST", url+"/jobs", "", "application/json", []byte(body), nil); code != 201 {
		tb.Fatalf("POST /jobs: %d", code)
	}
}

// graphNodes is each node of the shown graph: its step, column, status
// (its class) and left edge on the screen.
const graphNodes = `[...document.querySelectorAll('#job-graph .node')].map((n) =>
	[n.dataset.step, n.dataset.col, n.getAttribute('class').replace('node ', ''), String(Math.round(n.getBoundingClientRect().left))])`

// The Jobs views of a real mesh: the list, then a diamond of steps drawn
// in three columns with its arrows and each step's log lines tagged with
// its id, then a job whose failing step skips the one after it, and a
// running job canceled from its page.
func TestDashboardShowsJobs(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	b := startBrowser(t) // closed first: the log stream of a job that has not ended holds the gateway's server
	worker := m.Workers()[0].Host.ID().String()
	putNamed(t, m.URL, "hello", wasm.Hello)
	putNamed(t, m.URL, "hash", wasm.HashCCommand)
	postJob(t, m.URL, `{"id": "dag", "name": "diamond", "steps": [
		{"id": "a", "module": "hello", "args": ["A"]},
		{"id": "b", "module": "hello", "args": ["B"], "needs": ["a"]},
		{"id": "c", "module": "hello", "args": ["C"], "needs": ["a"]},
		{"id": "d", "module": "hello", "args": ["D"], "needs": ["b", "c"]}]}`)
	const markup = `<img src=x onerror="document.title='owned'">` // a name is shown as text, never as markup
	postJob(t, m.URL, `{"id": "broken", "name": `+js(markup)+`, "steps": [
		{"id": "ok", "module": "hello"},
		{"id": "bad", "module": "hash", "args": ["x"]},
		{"id": "after", "module": "hello"}]}`)

	b.do("opening the job list", chromedp.Navigate(m.URL+"/"), chromedp.Click(chromedp.CSS(`nav a[href="#/jobs"]`)))
	b.waitFor("both jobs ended", `document.querySelector('#jobs tr[data-id="dag"] .badge')?.textContent === 'succeeded' &&
		document.querySelector('#jobs tr[data-id="broken"] .badge')?.textContent === 'failed'`)
	if got := eval[[]string](b, `[...document.querySelectorAll('#jobs tr')].map((tr) => tr.dataset.id)`); !slices.Equal(got, []string{"broken", "dag"}) {
		t.Errorf("jobs listed %q, want the newest first", got)
	}
	for id, want := range map[string][]string{"dag": {"dag", "diamond", "succeeded", "4/4"}, "broken": {"broken", markup, "failed", "3/3"}} {
		row := eval[[]string](b, `[...document.querySelector('#jobs tr[data-id=`+js(id)+`]').cells].map((td) => td.textContent)`)
		// id, name, status, steps ended, worker, created, duration
		if len(row) != 7 || !slices.Equal(row[:4], want) || !strings.HasSuffix(worker, strings.TrimPrefix(row[4], "…")) ||
			row[5] == "" || !strings.HasSuffix(row[6], " s") {
			t.Errorf("row of %s: %q, want %q on %s", id, row, want, worker)
		}
	}
	if got := eval[string](b, `document.getElementById('job-count').textContent`); got != "2 jobs" {
		t.Errorf("count shown: %q", got)
	}
	if eval[bool](b, `document.querySelector('main img') !== null`) {
		t.Error("a job's name became markup")
	}
	b.screenshot("dashboard-jobs.png")

	b.do("opening the diamond", chromedp.Click(chromedp.CSS(`#jobs a[href="#/jobs/dag"]`)))
	b.waitFor("four succeeded steps", `document.querySelectorAll('#job-graph .node.succeeded').length === 4`)
	nodes := eval[[][]string](b, graphNodes)
	left := map[string]int{} // by column
	for _, n := range nodes {
		left[n[1]], _ = strconv.Atoi(n[3])
	}
	if want := "[[a 0 succeeded] [b 1 succeeded] [c 1 succeeded] [d 2 succeeded]]"; fmt.Sprint(strip(nodes)) != want ||
		len(left) != 3 || !(left["0"] < left["1"] && left["1"] < left["2"]) || nodes[1][3] != nodes[2][3] {
		t.Errorf("graph %q, want %s, in three columns left to right", nodes, want)
	}
	edges := eval[[]string](b, `[...document.querySelectorAll('#job-graph .edge')].map((e) => e.dataset.from + '>' + e.dataset.to).sort()`)
	if !slices.Equal(edges, []string{"a>b", "a>c", "b>d", "c>d"}) {
		t.Errorf("arrows %q", edges)
	}
	b.waitFor("the end of the log stream", `document.getElementById('job-log-state').textContent === 'ended'`)
	logs := strings.Split(strings.TrimSuffix(eval[string](b, `document.getElementById('job-logs').textContent`), "\n"), "\n")
	if len(logs) == 4 {
		slices.Sort(logs[1:3]) // b and c run side by side
	}
	if want := []string{"a out │ hello A", "b out │ hello B", "c out │ hello C", "d out │ hello D"}; !slices.Equal(logs, want) {
		t.Errorf("logs %q, want %q", logs, want)
	}
	if !eval[bool](b, `document.getElementById('job-cancel').hidden && !document.getElementById('job-files-empty').hidden &&
		document.getElementById('job-callbacks-section').hidden`) {
		t.Error("an ended job without files or callback shows a cancel button, files or callbacks")
	}
	b.screenshot("dashboard-job.png")

	b.do("opening the failed job", chromedp.Evaluate[chromedp.Void](`location.hash = '#/jobs/broken'`))
	b.waitFor("its final steps", `document.getElementById('job-id').textContent === 'broken' &&
		document.querySelector('#job-graph .node[data-step="after"]')?.classList.contains('skipped')`)
	if got, want := fmt.Sprint(strip(eval[[][]string](b, graphNodes))), "[[ok 0 succeeded] [bad 1 failed] [after 2 skipped]]"; got != want {
		t.Errorf("graph %s, want %s", got, want)
	}
	bad := eval[[]string](b, `[document.querySelector('#job-graph .node[data-step="bad"] text.outcome').textContent,
		document.querySelector('#job-graph .node[data-step="bad"] title').textContent,
		document.querySelector('#job-steps tr[data-step="bad"]').cells[7].textContent]`)
	if got := eval[string](b, `document.getElementById('job-name').textContent`); got != markup {
		t.Errorf("name shown: %q", got)
	}
	if !strings.HasPrefix(bad[0], "failed · exit 2") || !strings.Contains(bad[1], "exit 2") || bad[2] != "2" {
		t.Errorf("the failed step shows %q, want its exit code 2", bad)
	}
	b.waitFor("the end of the log stream", `document.getElementById('job-log-state').textContent === 'ended'`)
	stderr := eval[[]string](b, `[...document.querySelectorAll('#job-logs .stderr')].map((s) => s.previousSibling.textContent)`)
	if len(stderr) == 0 || slices.ContainsFunc(stderr, func(tag string) bool { return tag != "bad err │ " }) {
		t.Errorf("stderr lines tagged %q, want bad's", stderr)
	}
	if logs := eval[string](b, `document.getElementById('job-logs').textContent`); !strings.HasPrefix(logs, "ok out │ hello\n") || strings.Contains(logs, "after") {
		t.Errorf("logs %q", logs)
	}
	b.screenshot("dashboard-job-failed.png")

	// A step that spins until canceled (a puzzle of 60 zero bits).
	postJob(t, m.URL, `{"id": "slow", "steps": [{"id": "spin", "module": "hash", "args": ["1", "60"]}, {"id": "then", "module": "hello"}]}`)
	b.do("opening the running job", chromedp.Evaluate[chromedp.Void](`location.hash = '#/jobs/slow'`))
	b.waitFor("the step running", `document.querySelector('#job-graph .node[data-step="spin"]')?.classList.contains('running') &&
		!document.getElementById('job-cancel').hidden && document.getElementById('job-log-state').textContent === 'live'`)
	b.do("canceling", chromedp.Click(chromedp.CSS(`#job-cancel`)))
	b.waitFor("the job canceled", `document.querySelector('#job-status-badge .badge')?.textContent === 'canceled' &&
		document.getElementById('job-cancel').hidden &&
		document.querySelectorAll('#job-graph .node.canceled, #job-graph .node.skipped').length === 2 &&
		document.getElementById('job-log-state').textContent === 'ended'`)
	b.checkConsole(nil)
}

// strip drops the nodes' screen positions, which the test compares apart.
func strip(nodes [][]string) [][]string {
	out := make([][]string, len(nodes))
	for i, n := range nodes {
		out[i] = n[:3]
	}
	return out
}
