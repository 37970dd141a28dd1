package gateway_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// putNamed uploads a module under a name.
func putNamed(tb testing.TB, url, name string, mod []byte) string {
	tb.Helper()
	req, _ := http.NewRequest("PUT", url+"/modules?name="+name, bytes.NewReader(mod))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m api.Module
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated || m.Name != name {
		tb.Fatalf("PUT /modules?name=%s: %d %+v %v", name, resp.StatusCode, m, err)
	}
	return m.SHA256
}

// postJob submits a job and returns the answer's status and body.
func postJob(tb testing.TB, url, body string) (int, []byte) {
	tb.Helper()
	resp, err := http.Post(url+"/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// mustJob submits a job that must be taken.
func mustJob(tb testing.TB, url, body string) api.Job {
	tb.Helper()
	code, b := postJob(tb, url, body)
	var j api.Job
	if code != http.StatusCreated || json.Unmarshal(b, &j) != nil {
		tb.Fatalf("POST /jobs: %d %s", code, b)
	}
	return j
}

// jobDone waits for job id to end and returns it.
func jobDone(tb testing.TB, url, id string) api.Job {
	tb.Helper()
	resp, err := http.Get(url + "/jobs/" + id + "?wait=30")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var j api.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || !j.Status.Done() {
		tb.Fatalf("job %s: %v %+v", id, err, j)
	}
	return j
}

func stepStatuses(j api.Job) []api.Status {
	out := make([]api.Status, len(j.Steps))
	for i, s := range j.Steps {
		out[i] = s.Status
	}
	return out
}

// A job's steps run in order on one worker, each with its args and the
// job's metadata; their output is in the job's log with each step's id.
func TestJobSteps(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2, Slots: 1})
	m.WaitWorkers(2)
	putNamed(t, m.URL, "hello", wasm.Hello)
	j := mustJob(t, m.URL, `{"id": "j1", "name": "three", "metadata": {"WHO": "me"}, "steps": [
		{"id": "a", "module": "hello", "args": ["one"]},
		{"id": "b", "module": "hello", "args": ["two"], "stdin": "in"},
		{"id": "c", "module": "hello", "args": ["three"]}]}`)
	if j.ID != "j1" || j.Name != "three" || len(j.Steps) != 3 || j.Steps[1].Needs[0] != "a" || j.Steps[0].Needs == nil {
		t.Fatalf("accepted: %+v", j)
	}
	j = jobDone(t, m.URL, "j1")
	if j.Status != api.Succeeded || !slices.Equal(stepStatuses(j), []api.Status{api.Succeeded, api.Succeeded, api.Succeeded}) {
		t.Fatalf("job: %+v", j)
	}
	for i := 1; i < 3; i++ {
		if j.Steps[i].Started.Before(j.Steps[i-1].Ended) {
			t.Errorf("step %s started before %s ended", j.Steps[i].ID, j.Steps[i-1].ID)
		}
	}
	resp, err := http.Get(m.URL + "/jobs/j1/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var logs api.JobLogs
	if err := json.NewDecoder(resp.Body).Decode(&logs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range logs.Entries {
		got = append(got, e.Step+": "+strings.TrimSpace(e.Data))
	}
	if want := []string{"a: hello one", "b: hello two\nin", "c: hello three"}; !logs.Done || !slices.Equal(got, want) {
		t.Fatalf("logs %v: %q, want %q", logs.Done, got, want)
	}
}

// A failed step fails the job and no later step starts; with
// continue_on_error the job goes on.
func TestJobFailedStep(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "hello", wasm.Hello)
	putNamed(t, m.URL, "hash", wasm.HashCCommand)
	for _, c := range []struct {
		cont  bool
		job   api.Status
		steps []api.Status
	}{
		{false, api.Failed, []api.Status{api.Succeeded, api.Failed, api.Skipped}},
		{true, api.Succeeded, []api.Status{api.Succeeded, api.Failed, api.Succeeded}},
	} {
		t.Run(fmt.Sprint("continue_on_error=", c.cont), func(t *testing.T) {
			id := fmt.Sprint("fail-", c.cont)
			mustJob(t, m.URL, fmt.Sprintf(`{"id": %q, "steps": [
				{"module": "hello"},
				{"module": "hash", "args": ["not a number"], "continue_on_error": %v},
				{"module": "hello"}]}`, id, c.cont))
			j := jobDone(t, m.URL, id)
			if j.Status != c.job || !slices.Equal(stepStatuses(j), c.steps) || j.Steps[1].ExitCode != 2 {
				t.Fatalf("job: %s %v: %+v", j.Status, stepStatuses(j), j)
			}
			if !c.cont && (!strings.Contains(j.Error, "step step2 failed") || !j.Steps[2].Started.IsZero()) {
				t.Fatalf("error %q, third step %+v", j.Error, j.Steps[2])
			}
		})
	}
}

// Bad jobs are refused with the field named.
func TestJobInvalid(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 0})
	putNamed(t, m.URL, "hello", wasm.Hello)
	for _, c := range []struct{ body, field string }{
		{`{"steps": []}`, "steps"},
		{`{"steps": [{"module": "hello"}, {"module": "nosuch"}]}`, "steps[1].module"},
		{`{"steps": [{"module": "sha256:00"}]}`, "steps[0].module"},
		{`{"steps": [{"id": "a", "module": "hello", "needs": ["b"]}, {"id": "b", "module": "hello", "needs": ["a"]}]}`, "steps[0].needs"},
		{`{"steps": [{"module": "hello", "needs": ["zz"]}]}`, "steps[0].needs"},
		{`{"steps": [{"id": "a", "module": "hello"}, {"id": "a", "module": "hello"}]}`, "steps[1].id"},
		{`{"steps": [{"module": "hello"}, {"module": "hello", "timeout": "soon"}]}`, "steps[1]"},
		{`{"steps": [{"module": "hello"}, {"module": "hello", "args": "x"}]}`, "steps[1].args"},
		{`{"steps": [{"module": "hello", "colour": "red"}]}`, "steps[0]"},
		{`{"steps": [{"module": "hello"}], "callback_url": "ftp://x"}`, "callback_url"},
		{`{"steps": [{"module": "hello"}], "extra": 1}`, "body"},
		{`{"steps": [{"module": "hello", "memory": "lots"}]}`, "steps[0]"},
		{`{"timeout_seconds": "later", "steps": [{"module": "hello"}]}`, "body"},
	} {
		code, b := postJob(t, m.URL, c.body)
		var e api.Error
		if code != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Field != c.field {
			t.Errorf("%s: %d %s, want 400 naming %s", c.body, code, b, c.field)
		}
	}
}

// exampleJob reads a job of examples/jobs with id.
func exampleJob(tb testing.TB, name, id string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "jobs", name))
	if err != nil {
		tb.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(b, &req); err != nil {
		tb.Fatal(err)
	}
	req["id"] = id
	out, _ := json.Marshal(req)
	return string(out)
}

// getFile downloads an artifact.
func getFile(tb testing.TB, url, id, path string) (int, []byte) {
	tb.Helper()
	resp, err := http.Get(url + "/jobs/" + id + "/files/" + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The three-step pipeline of examples/jobs: a Go step writes a CSV file to
// /shared, a C step transforms it, a Go step summarizes it; the files left
// come back as artifacts, and a callback hears every status.
func TestJobPipeline(t *testing.T) {
	var mu sync.Mutex
	var heard []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var j api.Job
		_ = json.NewDecoder(r.Body).Decode(&j)
		mu.Lock()
		heard = append(heard, r.Header.Get("X-Shoal-Status")+"/"+string(j.Status))
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := gateway.DefaultConfig()
	cfg.CallbackAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // the hook's
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1, Gateway: &cfg})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "jobgen", wasm.JobGen)
	putNamed(t, m.URL, "jobtransform", wasm.JobTransform)
	putNamed(t, m.URL, "jobsummary", wasm.JobSummary)
	body := strings.Replace(exampleJob(t, "pipeline.json", "pipe"), `"id":"pipe"`, `"id":"pipe","callback_url":"`+hook.URL+`"`, 1)
	mustJob(t, m.URL, body)
	j := jobDone(t, m.URL, "pipe")
	if j.Status != api.Succeeded {
		t.Fatalf("pipeline: %+v", j)
	}
	var paths []string
	for _, f := range j.Files {
		paths = append(paths, f.Path)
	}
	if want := []string{"data.csv", "summary.json", "transformed.csv"}; !slices.Equal(paths, want) {
		t.Fatalf("files %q, want %q", paths, want)
	}
	code, b := getFile(t, m.URL, "pipe", "summary.json")
	var sum struct {
		Title string `json:"title"`
		Count int    `json:"count"`
		Sum   int    `json:"sum"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &sum) != nil || sum.Count != 500 || sum.Sum != 249500 || sum.Title != "Even values of 1000 rows" {
		t.Fatalf("summary.json: %d %s", code, b)
	}
	if code, _ := getFile(t, m.URL, "pipe", "nothing.txt"); code != http.StatusNotFound {
		t.Fatalf("a file the job did not leave: %d", code)
	}
	// The callback's last delivery is recorded after its POST is answered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		j = jobDone(t, m.URL, "pipe")
		if n := len(j.Callbacks); n > 0 && j.Callbacks[n-1].Status == api.Succeeded || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"queued/queued", "running/running", "succeeded/succeeded"}; !slices.Equal(heard, want) {
		t.Fatalf("callbacks heard %q, want %q", heard, want)
	}
	if len(j.Callbacks) != 3 || j.Callbacks[2].Code != http.StatusOK || j.Callbacks[2].Error != "" {
		t.Fatalf("callbacks shown: %+v", j.Callbacks)
	}
}

// A step that runs a program written elsewhere (go-jsonnet's command,
// built to WASI) reads its input from /shared and writes its output there.
func TestJobThirdParty(t *testing.T) {
	jsonnet, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "jsonnet.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "jobfile", wasm.JobFile)
	putNamed(t, m.URL, "jsonnet", jsonnet)
	mustJob(t, m.URL, exampleJob(t, "thirdparty.json", "jn"))
	j := jobDone(t, m.URL, "jn")
	if j.Status != api.Succeeded {
		t.Fatalf("jsonnet job: %+v", j)
	}
	code, b := getFile(t, m.URL, "jn", "plan.json")
	if code != http.StatusOK || !strings.Contains(string(b), `"total_cores": 12`) {
		t.Fatalf("plan.json: %d %s", code, b)
	}
}

// DELETE /jobs/{id} ends the running step and starts no other; a job's
// time limit ends it failed.
func TestJobCancelAndTimeout(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "hash", wasm.HashCCommand)
	putNamed(t, m.URL, "hello", wasm.Hello)
	long := `{"module": "hash", "args": ["0", "9"], "timeout": 120}` // runs for minutes
	mustJob(t, m.URL, `{"id": "c", "steps": [{"module": "hello"}, `+long+`, {"module": "hello"}]}`)
	mustJob(t, m.URL, `{"id": "t", "timeout_seconds": 0.5, "steps": [{"module": "hello"}, `+long+`, {"module": "hello"}]}`)
	waitRunning(t, m.URL, "c", 1)
	req, _ := http.NewRequest("DELETE", m.URL+"/jobs/c", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	j := jobDone(t, m.URL, "c")
	if j.Status != api.Canceled || !slices.Equal(stepStatuses(j), []api.Status{api.Succeeded, api.Canceled, api.Canceled}) {
		t.Fatalf("canceled job: %s %v %+v", j.Status, stepStatuses(j), j)
	}
	j = jobDone(t, m.URL, "t")
	if j.Status != api.Failed || !slices.Equal(stepStatuses(j), []api.Status{api.Succeeded, api.Failed, api.Skipped}) ||
		!strings.Contains(j.Error, "time limit") {
		t.Fatalf("timed out job: %s %v %q", j.Status, stepStatuses(j), j.Error)
	}
}

func getJob(tb testing.TB, url, id string) api.Job {
	tb.Helper()
	resp, err := http.Get(url + "/jobs/" + id)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var j api.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		tb.Fatal(err)
	}
	return j
}

// A job is durable like a task: queued, it survives a gateway restart;
// when its worker is lost it runs again from its first step on another.
func TestJobDurable(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 0})
	putNamed(t, m.URL, "hello", wasm.Hello)
	putNamed(t, m.URL, "hash", wasm.HashCCommand)
	mustJob(t, m.URL, `{"id": "d", "steps": [{"module": "hello"}, {"module": "hash", "args": ["0", "6"]}, {"module": "hello"}]}`)
	m.RestartGateway()
	if j := getJob(t, m.URL, "d"); j.Status != api.Queued || len(j.Steps) != 3 {
		t.Fatalf("after a restart: %+v", j)
	}
	first := m.AddWorker()
	m.WaitWorkers(1)
	waitRunning(t, m.URL, "d", 1)
	m.AddWorker()
	first.Kill()
	j := jobDone(t, m.URL, "d")
	if j.Status != api.Succeeded || j.Attempt != 1 || !slices.Equal(stepStatuses(j), []api.Status{api.Succeeded, api.Succeeded, api.Succeeded}) {
		t.Fatalf("after its worker was lost: %+v", j)
	}
	// A gateway restarted while the job runs: the job runs again, and
	// ends.
	mustJob(t, m.URL, `{"id": "r", "steps": [{"module": "hello"}, {"module": "hash", "args": ["0", "6"]}, {"module": "hello"}]}`)
	waitRunning(t, m.URL, "r", 1)
	m.RestartGateway()
	if j := jobDone(t, m.URL, "r"); j.Status != api.Succeeded || !slices.Equal(stepStatuses(j), []api.Status{api.Succeeded, api.Succeeded, api.Succeeded}) {
		t.Fatalf("after a restart of the gateway while it ran: %+v", j)
	}
	resp, err := http.Get(m.URL + "/jobs/d/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var logs api.JobLogs
	if err := json.NewDecoder(resp.Body).Decode(&logs); err != nil {
		t.Fatal(err)
	}
	said := false
	for _, e := range logs.Entries {
		said = said || e.Stream == "shoal" && e.Attempt == 1 && strings.HasPrefix(e.Data, "The job runs again from its first step")
	}
	if !said {
		t.Fatalf("the log does not say the job ran again: %+v", logs.Entries)
	}
}

// A reader of a job's live log that stops reading neither slows the job
// nor loses a line: when it reads again, it gets every line in order.
func TestJobLogsStalledReader(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "hello", wasm.Hello)
	big := strings.Repeat("x", 60<<10) // each step's stdin comes back as its output
	var steps []string
	for range 12 {
		steps = append(steps, fmt.Sprintf(`{"module": "hello", "stdin": %q}`, big))
	}
	mustJob(t, m.URL, `{"id": "s", "steps": [`+strings.Join(steps, ",")+`]}`)
	resp, err := http.Get(m.URL + "/jobs/s/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Not a byte read until the job has ended: it must end regardless.
	if j := jobDone(t, m.URL, "s"); j.Status != api.Succeeded {
		t.Fatalf("job: %+v", j)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	ended := false
	for ev := range strings.SplitSeq(string(b), "\n\n") {
		if d, ok := strings.CutPrefix(ev, "event: log\ndata: "); ok {
			var e api.LogEntry
			if err := json.Unmarshal([]byte(d), &e); err != nil {
				t.Fatal(err)
			}
			data.WriteString(e.Data)
		}
		ended = ended || strings.HasPrefix(ev, "event: end")
	}
	want := strings.Repeat("hello\n"+big, 12)
	if !ended || data.String() != want {
		t.Fatalf("read %d bytes of %d (ended %v)", data.Len(), len(want), ended)
	}
}

// A task given shared=1 has a fresh /shared for each run, and the files
// its run that ended last left come back as its artifacts.
func TestTaskSharedFiles(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	mustPost(t, m.URL, field{name: "id", value: "gen"}, field{name: "shared", value: "1"},
		field{name: "args", value: `["7"]`}, field{name: "wasm", file: wasm.JobGen})
	v := waitDone(t, m.URL, "gen")
	if v.Status != api.Succeeded || !v.Shared {
		t.Fatalf("task: %+v", v)
	}
	resp, err := http.Get(m.URL + "/tasks/gen/files")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var files []api.File
	if err := json.NewDecoder(resp.Body).Decode(&files); err != nil || len(files) != 1 || files[0].Path != "data.csv" {
		t.Fatalf("files: %v %+v", err, files)
	}
	r2, err := http.Get(m.URL + "/tasks/gen/files/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	b, _ := io.ReadAll(r2.Body)
	if r2.StatusCode != http.StatusOK || strings.Count(string(b), "\n") != 8 { // a header and 7 rows
		t.Fatalf("data.csv: %d %q", r2.StatusCode, b)
	}
	// Without shared=1 a run has no file system at all.
	mustPost(t, m.URL, field{name: "id", value: "plain"}, field{name: "args", value: `["7"]`}, field{name: "wasm", file: wasm.JobGen})
	if v := waitDone(t, m.URL, "plain"); v.Status != api.Failed {
		t.Fatalf("a run without /shared: %+v", v)
	}
}

// A step cannot spawn processes (docs/JOBS.md): its spawn is refused, the
// step fails, and the worker and the gateway go on.
func TestJobStepSpawnRefused(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "spawner", wasm.HelloSpawn)
	putNamed(t, m.URL, "hello", wasm.Hello)
	mustJob(t, m.URL, `{"id": "sp", "steps": [{"module": "spawner", "timeout": 5}]}`)
	j := jobDone(t, m.URL, "sp")
	if j.Status != api.Failed || j.Steps[0].Status != api.Failed {
		t.Fatalf("a step that spawns: %+v", j)
	}
	mustJob(t, m.URL, `{"id": "after", "steps": [{"module": "hello"}]}`)
	if j := jobDone(t, m.URL, "after"); j.Status != api.Succeeded {
		t.Fatalf("the next job: %+v", j)
	}
	resp, err := http.Get(m.URL + "/jobs/sp/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "invalid: no process sp/0#0/step1") {
		t.Fatalf("the step's log does not say why: %s", b)
	}
}

// Independent steps run side by side only within the memory the job was
// placed with: steps that set none count as the worker's limit each, so
// a job that reserves none runs them one at a time.
func TestJobParallelWithinMemory(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "hash", wasm.HashCCommand)
	steps := func(mem string) string {
		var s []string
		for i := range 3 {
			s = append(s, fmt.Sprintf(`{"id": "s%d", "module": "hash", "args": ["%d", "4"], "needs": []%s}`, i, i, mem))
		}
		return strings.Join(s, ",")
	}
	overlaps := func(j api.Job) int {
		n := 0
		for a := range j.Steps {
			for b := range a {
				if j.Steps[a].Started.Before(j.Steps[b].Ended) && j.Steps[b].Started.Before(j.Steps[a].Ended) {
					n++
				}
			}
		}
		return n
	}
	mustJob(t, m.URL, `{"id": "serial", "steps": [`+steps("")+`]}`)
	if j := jobDone(t, m.URL, "serial"); j.Status != api.Succeeded || overlaps(j) != 0 {
		t.Fatalf("steps without memory ran side by side: %d overlaps: %+v", overlaps(j), j.Steps)
	}
	mustJob(t, m.URL, `{"id": "wide", "steps": [`+steps(`, "memory": "16MiB"`)+`]}`)
	if j := jobDone(t, m.URL, "wide"); j.Status != api.Succeeded || overlaps(j) == 0 {
		t.Fatalf("steps of 16 MiB in a job placed with 48 MiB ran one at a time: %+v", j.Steps)
	}
}

// waitRunning waits until step i of job id runs; a job that ends first
// fails the test (its step was too short to act on while it ran).
func waitRunning(tb testing.TB, url, id string, i int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := getJob(tb, url, id)
		switch {
		case j.Steps[i].Status == api.Running:
			return
		case j.Status.Done() || time.Now().After(deadline):
			tb.Fatalf("step %d of %s never seen running: %+v", i, id, j)
		}
		time.Sleep(time.Millisecond)
	}
}

// A callback to a loopback, private or link-local address is refused
// unless the gateway allows its network: a job's submitter must not reach
// the gateway's own network through it. The refusal is final and shown.
func TestJobCallbackRefused(t *testing.T) {
	var posts atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { posts.Add(1) }))
	defer hook.Close()
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	putNamed(t, m.URL, "hello", wasm.Hello)
	mustJob(t, m.URL, `{"id": "cb", "callback_url": "`+hook.URL+`", "steps": [{"module": "hello"}]}`)
	jobDone(t, m.URL, "cb")
	deadline := time.Now().Add(10 * time.Second)
	var j api.Job
	for {
		j = getJob(t, m.URL, "cb")
		if n := len(j.Callbacks); n > 0 && j.Callbacks[n-1].Status == api.Succeeded || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if posts.Load() != 0 || len(j.Callbacks) != 3 {
		t.Fatalf("%d POSTs reached the hook; attempts %+v", posts.Load(), j.Callbacks)
	}
	for _, c := range j.Callbacks {
		if c.Attempt != 1 || !strings.Contains(c.Error, "127.0.0.1 is not a public address") {
			t.Fatalf("attempt %+v: want one, refused", c)
		}
	}
}

// Files deployed under a name (PUT /bundles/{name}, a tar archive) are the
// working directory of each run of a task with bundle=NAME: relative
// paths find them.
func TestTaskBundle(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 1})
	m.WaitWorkers(1)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct{ name, body string }{{"data.csv", "a,1\n"}, {"lib/x.txt", "x\n"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	req, _ := http.NewRequest("PUT", m.URL+"/bundles/app", &b)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bundle api.Bundle
	json.NewDecoder(resp.Body).Decode(&bundle)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(bundle.Files) != 2 || bundle.Files[1].Path != "lib/x.txt" {
		t.Fatalf("PUT /bundles/app: %d %+v", resp.StatusCode, bundle)
	}
	mustPost(t, m.URL, field{name: "id", value: "b"}, field{name: "bundle", value: "app"},
		field{name: "args", value: `["cat", "data.csv", "lib/x.txt"]`}, field{name: "wasm", file: wasm.JobFile})
	if v := waitDone(t, m.URL, "b"); v.Status != api.Succeeded || v.Result != "a,1\nx\n" {
		t.Fatalf("a run in the bundle's directory: %s %q %+v", v.Status, v.Result, v.Runs)
	}
	ct, body := form(field{name: "bundle", value: "nothing"}, field{name: "wasm", file: wasm.JobFile})
	r2, err := http.Post(m.URL+"/tasks", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	var e api.Error
	json.NewDecoder(r2.Body).Decode(&e)
	r2.Body.Close()
	if r2.StatusCode != http.StatusBadRequest || e.Field != "bundle" {
		t.Fatalf("a bundle never deployed: %d %+v", r2.StatusCode, e)
	}
}
