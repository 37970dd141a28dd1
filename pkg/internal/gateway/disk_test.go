package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// answer is an HTTP answer: its status, Content-Type and body.
type answer struct {
	status int
	ctype  string
	body   []byte
}

func send(tb testing.TB, method, url, ctype string, body []byte) answer {
	tb.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// mustRefuseNoSpace checks that a is the answer to a write refused for
// lack of disk space: 507 with the JSON error that says so.
func mustRefuseNoSpace(tb testing.TB, what string, a answer) {
	tb.Helper()
	var e api.Error
	if a.status != http.StatusInsufficientStorage || a.ctype != "application/json" || json.Unmarshal(a.body, &e) != nil {
		tb.Fatalf("%s on a full disk: %d %s %s; want 507 with a JSON error", what, a.status, a.ctype, a.body)
	}
	if e.Code != api.CodeNoSpace || !strings.Contains(e.Message, "disk is full") || !strings.Contains(e.Message, "nothing was stored") {
		tb.Fatalf("%s on a full disk: error %+v; want code no_space saying the disk is full and nothing was stored", what, e)
	}
}

func readyz(tb testing.TB, url string) (int, api.Ready) {
	tb.Helper()
	a := send(tb, "GET", url+"/readyz", "", nil)
	var r api.Ready
	if err := json.Unmarshal(a.body, &r); err != nil {
		tb.Fatalf("GET /readyz: %d %s", a.status, a.body)
	}
	return a.status, r
}

// TestFullDisk puts the gateway's store on a small tmpfs and fills it
// while runs are under way: writes are refused with 507 and nothing is
// stored, /readyz and the metrics say so, runs whose records could not be
// saved are not shown as ended and run again, and once the filler is
// removed the gateway takes work again by itself and every accepted task
// succeeds with exact completions, the same after a restart.
func TestFullDisk(t *testing.T) {
	dir := meshtest.Tmpfs(t, 8<<20)
	m := meshtest.Start(t, meshtest.Options{Data: dir})
	c, err := client.New(m.URL, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Accepted while there is space, before any worker: their runs wait.
	// Each run of "big" answers with its stdin, 128 KiB: a record that
	// cannot fit in pages bbolt freed in its file.
	stdin := bytes.Repeat([]byte("0123456789abcdef"), 8<<10)
	const bigRuns, smallRuns = 4, 5
	mustPost(t, m.URL, field{name: "id", value: "big"}, field{name: "wasm", file: wasm.Hello},
		field{name: "stdin", file: stdin}, field{name: "repeats", value: fmt.Sprint(bigRuns)})
	mustPost(t, m.URL, field{name: "id", value: "small"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "1"}, field{name: "repeats", value: fmt.Sprint(smallRuns)})
	filler := meshtest.FillDisk(t, dir)
	m.AddWorker()
	m.WaitWorkers(1)

	// The first run records refused make the gateway not ready.
	meshtest.Eventually(t, "/readyz says not ready for a full disk", func() bool {
		status, _ := readyz(t, m.URL)
		return status == http.StatusServiceUnavailable
	})
	_, ready := readyz(t, m.URL)
	if ready.Status != "not ready" || !strings.HasPrefix(ready.Reason, "disk full: ") || !strings.Contains(ready.Reason, "no space left on device") {
		t.Fatalf("/readyz on a full disk: %+v; want not ready, the reason starting with \"disk full: \"", ready)
	}
	t.Logf("/readyz: %s", ready.Reason)

	// Every write endpoint answers 507, and nothing of it is shown.
	ct, body := form(field{name: "id", value: "refused"}, field{name: "wasm", file: wasm.Hello}, field{name: "stdin", file: stdin})
	mustRefuseNoSpace(t, "POST /tasks", send(t, "POST", m.URL+"/tasks", ct, body.Bytes()))
	if a := send(t, "GET", m.URL+"/tasks/refused", "", nil); a.status != http.StatusNotFound {
		t.Fatalf("GET a task refused for lack of space: %d %s, want 404", a.status, a.body)
	}
	batch, _ := json.Marshal([]map[string]string{{"id": "b1", "module": "sha256:" + wasmrun.HashOf(wasm.Hello).String(), "stdin": string(stdin)}})
	mustRefuseNoSpace(t, "POST /tasks/batch", send(t, "POST", m.URL+"/tasks/batch", "application/json", batch))
	mustRefuseNoSpace(t, "PUT /modules", send(t, "PUT", m.URL+"/modules", "application/wasm", wasm.Padded(512<<10)))
	mustRefuseNoSpace(t, "DELETE /tasks/big", send(t, "DELETE", m.URL+"/tasks/big", "", nil))
	if v := getTask(t, m.URL, "big"); v.Status == task.Canceled {
		t.Fatal("a cancel refused for lack of space canceled the task")
	}
	_, err = c.Submit(context.Background(), client.Submission{ID: "refused2", Wasm: wasm.Hello, Stdin: stdin})
	if !errors.Is(err, api.ErrNoSpace) || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("client Submit on a full disk: %v; want api.ErrNoSpace saying the disk is full", err)
	}

	// Dispatching has stopped: once no run is under way, no run whose
	// record was refused shows as ended, and those put back say why.
	meshtest.Eventually(t, "no run of big under way", func() bool {
		return getTask(t, m.URL, "big").Status != task.Running
	})
	v := getTask(t, m.URL, "big")
	reopened := 0
	for _, r := range v.Runs {
		switch {
		case r.Status == task.Succeeded: // its record fitted in pages bbolt had freed
		case (r.Status == task.Queued || r.Status == task.Scheduled) && r.Attempt > 0 && strings.Contains(r.Error, "could not be saved"): // after its retry's backoff
			reopened++
		case r.Status == task.Queued && r.Attempt == 0: // not dispatched before the disk was found full
		default:
			t.Fatalf("run %d of big on a full disk: %+v", r.Index, r)
		}
	}
	if reopened == 0 {
		t.Fatalf("no run of big was put back after its record was refused: %+v", v.Runs)
	}
	if done := countStatus(v.Runs, task.Succeeded); v.Completions != int64(done) {
		t.Fatalf("big shows %d completions and %d runs succeeded", v.Completions, done)
	}
	mx := meshtest.Scrape(t, m.URL+"/metrics")
	t.Logf("on a full disk: %d runs of big put back; %v writes refused, %v runs unsaved", reopened, mx.Value("shoal_store_full_total"), mx.Value("shoal_runs_unsaved_total"))
	if got := mx.Value("shoal_store_full"); got != 1 {
		t.Fatalf("shoal_store_full = %v on a full disk, want 1", got)
	}
	if got := mx.Value("shoal_store_full_total"); got < 5 {
		t.Fatalf("shoal_store_full_total = %v after 5 requests refused, want at least 5", got)
	}
	if got := mx.Value("shoal_runs_unsaved_total"); got < float64(reopened) {
		t.Fatalf("shoal_runs_unsaved_total = %v, want at least the %d runs put back", got, reopened)
	}

	// Space again: the gateway finds it by itself and finishes the work.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "/readyz says ready once there is space", func() bool {
		status, _ := readyz(t, m.URL)
		return status == http.StatusOK
	})
	if got := meshtest.Scrape(t, m.URL+"/metrics").Value("shoal_store_full"); got != 0 {
		t.Fatalf("shoal_store_full = %v with space, want 0", got)
	}
	mustPost(t, m.URL, field{name: "id", value: "after"}, field{name: "wasm", file: wasm.HashC},
		field{name: "input", value: "0"}, field{name: "difficulty", value: "1"})
	want := map[string]int64{"big": bigRuns, "small": smallRuns, "after": 1}
	check := func(when string) {
		t.Helper()
		for id, n := range want {
			v := waitDone(t, m.URL, id)
			if v.Status != task.Succeeded || v.Completions != n || countStatus(v.Runs, task.Succeeded) != int(n) {
				t.Fatalf("%s: task %s %s with %d completions, %d runs succeeded; want succeeded with %d", when, id, v.Status, v.Completions, countStatus(v.Runs, task.Succeeded), n)
			}
		}
		for _, r := range getTask(t, m.URL, "big").Runs {
			if !strings.HasSuffix(r.Result, string(stdin)) {
				t.Fatalf("%s: run %d of big has a result of %d bytes, not ending in its stdin", when, r.Index, len(r.Result))
			}
		}
	}
	check("space again")
	m.RestartGateway()
	check("after a restart")
}

func countStatus(runs []api.Run, st task.Status) int {
	n := 0
	for _, r := range runs {
		if r.Status == st {
			n++
		}
	}
	return n
}
