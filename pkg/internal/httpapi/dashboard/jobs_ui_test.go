package dashboard_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
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

// pipelineCSV is what jobgen writes for n rows (data.csv) and what
// jobtransform makes of it (transformed.csv), as package wasm documents.
func pipelineCSV(n int) (data, transformed string) {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	var d, tr strings.Builder
	d.WriteString("id,value,word\n")
	tr.WriteString("id,value,word,square\n")
	for i := 1; i <= n; i++ {
		v, w := i*7919%1000, words[i%len(words)]
		fmt.Fprintf(&d, "%d,%d,%s\n", i, v, w)
		if v%2 == 0 {
			fmt.Fprintf(&tr, "%d,%d,%s,%d\n", i, v, w, v*v)
		}
	}
	return d.String(), tr.String()
}

// hookServer is a callback endpoint on 127.0.0.1 that answers 500 to its
// first POST and 200 to the others, and keeps each POST's status and
// attempt headers.
type hookServer struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string // "status attempt code"
}

func startHook(tb testing.TB) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		code := 200
		if len(h.posts) == 0 {
			code = 500
		}
		h.posts = append(h.posts, fmt.Sprintf("%s %s %d", r.Header.Get("X-Shoal-Status"), r.Header.Get("X-Shoal-Attempt"), code))
		h.mu.Unlock()
		w.WriteHeader(code)
	}))
	tb.Cleanup(h.Close) // after the mesh's, registered later
	return h
}

func (h *hookServer) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.posts)
}

// fileRows is each row of the job's files: its path, the link's href as
// written and as resolved, its download name, and the cells' texts (path,
// size, short hash) with the hash's title.
const fileRows = `[...document.querySelectorAll('#job-files tr')].map((tr) => {
	const a = tr.querySelector('a');
	return [tr.dataset.path, a.getAttribute('href'), a.href, a.download,
		...[...tr.cells].map((td) => td.textContent), tr.cells[2].title];
})`

// callbackRows is each row of the job's callbacks: time (its title),
// status told, attempt, HTTP code and error.
const callbackRows = `[...document.querySelectorAll('#job-callbacks tr')].map((tr) =>
	[tr.cells[0].title, ...[...tr.cells].slice(1).map((td) => td.textContent)])`

// A job whose steps leave files, with a callback_url that fails once: the
// job's page lists the files with their sizes and hashes, its links
// download their bytes (clicked, and fetched by the page), and its
// callbacks table shows the gateway's attempts as the API records them,
// the failed one (500) and the delivered ones (200).
func TestDashboardShowsJobFilesAndCallbacks(t *testing.T) {
	hook := startHook(t)
	cfg := gateway.DefaultConfig()
	cfg.CallbackAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // the hook's
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1, Gateway: &cfg})
	m.WaitWorkers(1)
	b := startBrowser(t)
	putNamed(t, m.URL, "jobgen", wasm.JobGen)
	putNamed(t, m.URL, "jobtransform", wasm.JobTransform)
	callbackURL := hook.URL + "/done?job=pipe&from=<shoal>" // shown as text
	postJob(t, m.URL, `{"id": "pipe", "name": "pipeline", "callback_url": `+js(callbackURL)+`, "steps": [
		{"id": "gen", "module": "jobgen", "args": ["5"]},
		{"id": "transform", "module": "jobtransform", "needs": ["gen"]}]}`)

	b.do("opening the job", chromedp.Navigate(m.URL+"/#/jobs/pipe"))
	// Settled: ended, its files listed, and its final status delivered.
	b.waitFor("the job settled", `document.querySelector('#job-status-badge .badge')?.textContent === 'succeeded' &&
		document.querySelectorAll('#job-files tr').length === 2 &&
		[...document.querySelectorAll('#job-callbacks tr')].some((tr) => tr.cells[1].textContent === 'succeeded' && tr.cells[3].textContent === '200')`)

	var job api.Job
	if code := call(t, "GET", m.URL+"/jobs/pipe", "", "", nil, &job); code != 200 {
		t.Fatalf("GET /jobs/pipe: %d", code)
	}

	// The files: both, with their sizes and hashes.
	data, transformed := pipelineCSV(5)
	want := map[string]string{"data.csv": data, "transformed.csv": transformed}
	rows := eval[[][]string](b, fileRows)
	if len(rows) != 2 || len(job.Files) != 2 {
		t.Fatalf("files shown %q, the API's %+v; want data.csv and transformed.csv", rows, job.Files)
	}
	for i, r := range rows {
		f := job.Files[i]
		content, ok := want[f.Path]
		sum := sha256.Sum256([]byte(content))
		href := "jobs/pipe/files/" + f.Path
		w := []string{f.Path, href, m.URL + "/" + href, f.Path, f.Path, fmt.Sprintf("%d B", len(content)), "…" + f.SHA256[48:], f.SHA256}
		if !ok || f.Size != int64(len(content)) || f.SHA256 != hex.EncodeToString(sum[:]) || !slices.Equal(r, w) {
			t.Errorf("file %d shown %q, want %q (the API's %+v; %d bytes, %x)", i, r, w, f, len(content), sum)
		}
	}
	if got := eval[string](b, `document.querySelector('#job-fields').textContent`); !strings.Contains(got, "Callback URL"+callbackURL) {
		t.Errorf("fields %q, want the callback URL %q as text", got, callbackURL)
	}

	// The links' bytes: fetched by the page, and downloaded by a click.
	for path, content := range want {
		resp, err := http.Get(m.URL + "/jobs/pipe/files/" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fetched := eval[string](b, `fetch(document.querySelector('#job-files tr[data-path=`+js(path)+`] a').href).then((r) => r.ok ? r.text() : 'HTTP ' + r.status)`,
			chromedp.EvalAwaitPromise)
		if resp.StatusCode != 200 || string(body) != content || fetched != content {
			t.Errorf("%s: GET answered %d %q, the page fetched %q, want %q", path, resp.StatusCode, body, fetched, content)
		}
	}
	if got := download(t, b, `#job-files tr[data-path="data.csv"] a`); got != data {
		t.Errorf("clicking data.csv downloaded %q, want %q", got, data)
	}

	// The callbacks: the API's attempts, in order, the first failed with
	// 500 and the last delivering "succeeded" with 200.
	cbs := eval[[][]string](b, callbackRows)
	if len(cbs) != len(job.Callbacks) {
		t.Fatalf("callbacks shown %q, the API's %+v", cbs, job.Callbacks)
	}
	var codes []string
	for i, c := range job.Callbacks {
		code := ""
		if c.Code != 0 {
			code = strconv.Itoa(c.Code)
			codes = append(codes, code)
		}
		shown, err := time.Parse(time.RFC3339Nano, cbs[i][0])
		if w := []string{string(c.Status), strconv.Itoa(c.Attempt), code, c.Error}; err != nil || !shown.Equal(c.Time) || !slices.Equal(cbs[i][1:], w) {
			t.Errorf("callback %d shown %q, want %q at %v", i, cbs[i], w, c.Time)
		}
	}
	first, last := job.Callbacks[0], job.Callbacks[len(job.Callbacks)-1]
	if first.Attempt != 1 || first.Code != 500 || first.Error == "" ||
		last.Status != api.Succeeded || last.Code != 200 || last.Error != "" || !slices.Contains(codes, "200") {
		t.Errorf("callbacks %+v, want a first failed with 500 and a last delivering succeeded with 200", job.Callbacks)
	}
	if posts := hook.got(); len(posts) != len(codes) || posts[0] != string(first.Status)+" 1 500" {
		t.Errorf("the endpoint got %q, the callbacks shown %q", posts, cbs)
	}
	if eval[bool](b, `document.querySelector('main b, main shoal') !== null || !document.getElementById('job-callbacks-empty').hidden`) {
		t.Error("the callback URL became markup, or the attempts are said to be none")
	}
	b.screenshot("dashboard-job-files.png")
	b.checkConsole(nil)
}

// download clicks the link at sel with the browser's downloads going to a
// temporary directory, and returns the downloaded file's bytes.
func download(tb testing.TB, b *browser, sel string) string {
	tb.Helper()
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	allow := func(behavior cdpbrowser.SetDownloadBehaviorBehavior, dir string, events bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: behavior, DownloadPath: dir, EventsEnabled: &events})
			return err
		})
	}
	b.do("clicking "+sel, allow(cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, dir, true), chromedp.Click(chromedp.CSS(sel)))
	defer b.do("restoring downloads", allow(cdpbrowser.SetDownloadBehaviorBehaviorDefault, "", false))
	for ev, err := range progress {
		if err != nil {
			tb.Fatalf("waiting for the download: %v", err)
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCanceled:
			tb.Fatalf("the download of %s was canceled", sel)
		case cdpbrowser.DownloadProgressStateCompleted:
			got, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				tb.Fatal(err)
			}
			return string(got)
		}
	}
	tb.Fatalf("no download of %s", sel)
	return ""
}
