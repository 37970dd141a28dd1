package dashboard_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// call sends a request to the gateway's API with a bearer token (none when
// token is "") and decodes its JSON answer into out.
func call(tb testing.TB, method, url, token, ct string, body []byte, out any) int {
	tb.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %d %q is not JSON: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// writeModule writes a module where the browser can upload it from.
func writeModule(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// submit is the form's button; input(name) is one of its fields.
const submit = `#submit button[type=submit]`

func input(name string) chromedp.CSS { return chromedp.CSS("#submit input[name=" + name + "]") }

// clear empties the form's fields (chromedp.SetValue cannot set "").
func clear(names ...string) chromedp.Action[chromedp.Void] {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("document.querySelector(" + js(string(input(n))) + ").value = '';")
	}
	return chromedp.Evaluate[chromedp.Void](b.String())
}

// The dashboard, driven as a user would: an empty cluster view, a task
// submitted through the form (first with a bad field, which the gateway
// names), its runs and log lines arriving live, the task list, the worker
// with the module it has compiled, and args given in the form.
func TestDashboardSubmitsAndFollowsATask(t *testing.T) {
	b := startBrowser(t)
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	m.WaitWorkers(1)
	workerID := m.Workers()[0].Host.ID().String()
	hashModule := writeModule(t, "hash-cmd.wasm", wasm.HashCCommand)
	input7, difficulty3 := 7, 3
	want := strconv.FormatInt(wasm.Puzzle(int64(input7), int64(difficulty3)), 10)

	b.do("opening the dashboard", chromedp.Navigate(m.URL+"/"))
	b.waitFor("the empty task list", `!document.getElementById('tasks-empty').hidden`)
	b.waitFor("one worker in the header", `document.getElementById('summary').textContent === '1 worker · 0/2 slots busy'`)
	if title := eval[string](b, `document.title`); title != "Tasks · Shoal" {
		t.Errorf("title %q", title)
	}

	// repeats=0 is refused; the page shows the gateway's error on the field.
	b.do("submitting with repeats=0",
		chromedp.Click(chromedp.CSS(`nav a[href="#/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#submit`)),
		chromedp.SetUploadFiles(input("wasm"), []string{hashModule}),
		chromedp.SendKeys(input("id"), "hash-task"),
		chromedp.SendKeys(input("description"), "Hash puzzle from the browser"),
		chromedp.SendKeys(input("input"), strconv.Itoa(input7)),
		chromedp.SendKeys(input("difficulty"), strconv.Itoa(difficulty3)),
		chromedp.SendKeys(input("repeats"), "0"),
		chromedp.Click(chromedp.CSS(submit)),
	)
	b.waitFor("the error", `!document.getElementById('submit-error').hidden`)
	if msg := eval[string](b, `document.getElementById('submit-error').textContent`); !strings.Contains(msg, "repeats") {
		t.Errorf("error shown: %q, want one naming repeats", msg)
	}
	if !eval[bool](b, `document.querySelector('#submit input[name=repeats]').classList.contains('invalid')`) {
		t.Error("the repeats field is not marked invalid")
	}
	b.screenshot("dashboard-submit.png")
	var tasks []api.Task
	if code := call(t, "GET", m.URL+"/tasks", "", "", nil, &tasks); code != 200 || len(tasks) != 0 {
		t.Fatalf("after a refused submission: %d %+v", code, tasks)
	}

	b.do("submitting with repeats=2",
		clear("repeats"),
		chromedp.SendKeys(input("repeats"), "2"),
		chromedp.Click(chromedp.CSS(submit)),
	)
	b.waitFor("the task's page", `location.hash === '#/tasks/hash-task'`)
	b.waitFor("the task to succeed", `document.querySelector('#task-status-badge .badge')?.textContent === 'succeeded'`)
	b.waitFor("the end of the log stream", `document.getElementById('log-state').textContent === 'ended'`)
	// The badge and the runs table are drawn from separate answers: wait
	// until the table has caught up too (CI saw it a poll behind).
	b.waitFor("both runs shown ended", `[...document.querySelectorAll('#runs tr')].filter(tr => tr.cells[2].textContent === 'succeeded').length === 2`)

	var v api.Task
	if code := call(t, "GET", m.URL+"/tasks/hash-task", "", "", nil, &v); code != 200 || strings.TrimSpace(v.Result) != want || len(v.Runs) != 2 {
		t.Fatalf("the API has %d %+v; want result %s of 2 runs", code, v, want)
	}
	runs := eval[[][]string](b, `[...document.querySelectorAll('#runs tr')].map(tr =>
		[...tr.cells].map(td => td.textContent).concat(tr.cells[3].title))`)
	if len(runs) != 2 {
		t.Fatalf("runs shown: %q, want 2", runs)
	}
	for i, r := range runs {
		// run, retry, status, worker, due, started, ended, exit, fuel, result, error, timing, worker's full ID
		fuel := v.Runs[i].Fuel
		if r[0] != strconv.Itoa(i) || r[1] != "" || r[2] != "succeeded" || r[12] != workerID || r[5] == "" || r[6] == "" ||
			r[7] != "0" || fuel == 0 || r[8] != thousands(fuel) || r[9] != want || r[10] != "" || r[11] == "" {
			t.Errorf("run %d shown as %q; want succeeded on %s with exit 0, fuel %d and result %s", i, r, workerID, fuel, want)
		}
	}
	if got := eval[string](b, `document.querySelector('#task-fields dd').textContent`); got != want {
		t.Errorf("result field %q, want %q", got, want)
	}
	logs := eval[string](b, `document.getElementById('logs').textContent`)
	for i := range 2 {
		if line := "run " + strconv.Itoa(i) + " [0] out │ " + want + "\n"; !strings.Contains(logs, line) {
			t.Errorf("logs %q lack %q", logs, line)
		}
	}
	b.screenshot("dashboard-task.png")

	b.do("opening the task list", chromedp.Click(chromedp.CSS(`nav a[href="#/tasks"]`)))
	b.waitFor("the task's row", `document.querySelector('#tasks tr[data-id="hash-task"]') !== null`)
	row := eval[[]string](b, `[...document.querySelector('#tasks tr[data-id="hash-task"]').cells].map(td => td.textContent)`)
	if len(row) != 8 || row[0] != "hash-task" || row[1] != "Hash puzzle from the browser" || row[2] != "succeeded" ||
		row[3] != "2 / 2" || row[4] != "2/2" || row[5] != want {
		t.Errorf("task row %q", row)
	}
	b.screenshot("dashboard-tasks.png")

	sum := sha256.Sum256(wasm.HashCCommand)
	module := hex.EncodeToString(sum[:])
	b.do("opening the cluster view", chromedp.Click(chromedp.CSS(`nav a[href="#/cluster"]`)))
	// The worker's slots come back with its next offer, which may follow
	// the stored results by a moment: wait for the row to show it.
	b.waitFor("the worker idle, with the module it compiled", `document.querySelector('#workers tr[data-id=`+js(workerID)+`] [data-module=`+js(module)+`]') !== null &&
		document.querySelector('#workers tr[data-id=`+js(workerID)+`]').cells[1].textContent === '0 / 2 (2 free)'`)
	w := eval[[]string](b, `[...document.querySelector('#workers tr[data-id=`+js(workerID)+`]').cells].map(td => td.textContent)`)
	if len(w) != 6 || !strings.HasSuffix(workerID, strings.TrimPrefix(w[0], "…")) || w[1] != "0 / 2 (2 free)" || w[5] != "2" {
		t.Errorf("worker row %q", w)
	}
	if got := eval[string](b, `document.querySelector('#gateway-fields dd').textContent`); got != m.Host.ID().String() {
		t.Errorf("gateway peer ID shown: %q, want %s", got, m.Host.ID())
	}
	b.screenshot("dashboard-cluster.png")

	// args typed as words become the module's argv after its id.
	b.do("submitting hello with args",
		chromedp.Click(chromedp.CSS(`nav a[href="#/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#submit`)),
		chromedp.SetUploadFiles(input("wasm"), []string{writeModule(t, "hello.wasm", wasm.Hello)}),
		clear("description", "input", "difficulty", "repeats"),
		chromedp.SendKeys(input("id"), "hello-task"),
		chromedp.SendKeys(input("args"), "one  two"),
		chromedp.Click(chromedp.CSS(submit)),
	)
	b.waitFor("hello's result", `location.hash === '#/tasks/hello-task' &&
		document.querySelector('#task-fields dd')?.textContent === 'hello one two'`)
	if code := call(t, "GET", m.URL+"/tasks/hello-task", "", "", nil, &v); code != 200 || strings.Join(v.Args, ",") != "one,two" || v.Repeats != 1 {
		t.Errorf("hello-task: %d args %q repeats %d", code, v.Args, v.Repeats)
	}
	// The refused submission shows in the console as a failed load: that only.
	b.checkConsole(func(c chromedp.ConsoleMessage) bool {
		return c.Source == "network" && c.URL == m.URL+"/tasks" && strings.Contains(c.Text, "status of 400")
	})
}

// With a token file the page loads without a token, asks for one when the
// API answers 401, asks again for a wrong one, keeps a good one for the
// tab (a reload does not ask), sends it on the log stream too, and forgets
// it on request.
func TestDashboardAsksForAToken(t *testing.T) {
	const token = "alice-0123456789abcdef"
	b := startBrowser(t)
	tokens, err := httpapi.ParseTokens(strings.NewReader("alice " + token + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Tokens: tokens})
	m.WaitWorkers(1)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"id": "api-task", "input": "1", "difficulty": "2"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("wasm", "hash-cmd.wasm")
	fw.Write(wasm.HashCCommand)
	mw.Close()
	if code := call(t, "POST", m.URL+"/tasks", token, mw.FormDataContentType(), buf.Bytes(), nil); code != 201 {
		t.Fatalf("submitting with the token: %d", code)
	}
	var v api.Task
	if code := call(t, "GET", m.URL+"/tasks/api-task?wait=20", token, "", nil, &v); code != 200 || v.Status != "succeeded" {
		t.Fatalf("api-task: %d %+v", code, v)
	}
	want := strconv.FormatInt(wasm.Puzzle(1, 2), 10)

	b.do("opening the dashboard", chromedp.Navigate(m.URL+"/"))
	b.waitFor("the token dialog", `document.getElementById('auth').open`)
	if msg := eval[string](b, `document.getElementById('auth-message').textContent`); !strings.Contains(msg, "requires a bearer token") {
		t.Errorf("dialog says %q", msg)
	}
	b.screenshot("dashboard-token.png")

	b.do("giving a wrong token",
		chromedp.SendKeys(chromedp.CSS(`#auth-token`), "mallory-0123456789abcdef"),
		chromedp.Click(chromedp.CSS(`#auth-form button`)),
	)
	b.waitFor("the dialog again, with the gateway's reason", `document.getElementById('auth').open &&
		document.getElementById('auth-message').textContent.includes('not one this gateway accepts')`)

	b.do("giving the token",
		chromedp.SendKeys(chromedp.CSS(`#auth-token`), token),
		chromedp.Click(chromedp.CSS(`#auth-form button`)),
	)
	b.waitFor("the task list", `!document.getElementById('auth').open &&
		document.querySelector('#tasks tr[data-id="api-task"] .badge')?.textContent === 'succeeded'`)
	if got := eval[string](b, `sessionStorage.getItem('shoal.token')`); got != token {
		t.Errorf("session storage holds %q", got)
	}
	if owner := eval[string](b, `document.querySelector('#tasks tr[data-id="api-task"]').cells[6].textContent`); owner != "alice" {
		t.Errorf("owner shown: %q", owner)
	}

	// The log stream, which EventSource could not authenticate.
	b.do("opening the task", chromedp.Click(chromedp.CSS(`#tasks a[href="#/tasks/api-task"]`)))
	b.waitFor("its log", `document.getElementById('log-state').textContent === 'ended'`)
	if logs := eval[string](b, `document.getElementById('logs').textContent`); logs != "run 0 [0] out │ "+want+"\n" {
		t.Errorf("logs %q, want the result %s", logs, want)
	}

	b.do("reloading", chromedp.Reload())
	b.waitFor("the task without a dialog", `document.getElementById('log-state').textContent === 'ended'`)
	if eval[bool](b, `document.getElementById('auth').open`) {
		t.Error("a reload asked for the token again")
	}

	b.reloadBy("forgetting the token", chromedp.Click(chromedp.CSS(`#forget-token`)))
	b.waitFor("the token dialog", `document.getElementById('auth').open && sessionStorage.getItem('shoal.token') === null`)

	// Refused requests show in the console as failed loads: those only.
	b.checkConsole(func(c chromedp.ConsoleMessage) bool {
		return c.Source == "network" && strings.HasPrefix(c.URL, m.URL+"/") && strings.Contains(c.Text, "status of 401")
	})
}

// thousands writes n as the dashboard does (toLocaleString('en')): 184,220.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
