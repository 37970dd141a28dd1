package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// putModule uploads wasm and returns "sha256:HEX".
func putModule(tb testing.TB, url string, b []byte) string {
	tb.Helper()
	code, _, body := do(tb, "PUT", url+"/modules", "application/wasm", b)
	var v struct{ Module string }
	if err := json.Unmarshal(body, &v); code != 201 || err != nil {
		tb.Fatalf("PUT /modules: %d %s", code, body)
	}
	return v.Module
}

func taskCount(tb testing.TB, url string) int {
	tb.Helper()
	_, _, b := do(tb, "GET", url+"/tasks", "", nil)
	var ts []api.Task
	if err := json.Unmarshal(b, &ts); err != nil {
		tb.Fatalf("GET /tasks: %v: %s", err, b)
	}
	return len(ts)
}

// A batch runs like the same tasks posted one by one: each gets the result
// the single multipart submission of it gets.
func TestBatchRuns(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 2})
	mod := putModule(t, m.URL, wasm.HashC)
	var tasks []string
	for i := range 40 {
		tasks = append(tasks, fmt.Sprintf(`{"id": "b%d", "input": %d}`, i, i))
	}
	body := fmt.Sprintf(`{"defaults": {"module": %q, "difficulty": 1, "description": "batch"}, "tasks": [%s]}`, mod, strings.Join(tasks, ","))
	code, _, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte(body))
	var got api.Batch
	if err := json.Unmarshal(b, &got); code != 201 || err != nil || got.Count != 40 || len(got.Tasks) != 40 {
		t.Fatalf("POST /tasks/batch: %d %s", code, b)
	}
	for i, v := range got.Tasks {
		if v.ID != fmt.Sprintf("b%d", i) {
			t.Fatalf("task %d is %s: not in the order given", i, v.ID)
		}
	}
	for _, i := range []int{0, 17, 39} {
		ct, single := multipartBody(part{name: "module", value: mod}, part{name: "id", value: fmt.Sprintf("s%d", i)},
			part{name: "input", value: fmt.Sprint(i)}, part{name: "difficulty", value: "1"})
		if code, _, b := do(t, "POST", m.URL+"/tasks", ct, single); code != 201 {
			t.Fatalf("single: %d %s", code, b)
		}
		want := waitTask(t, m.URL, fmt.Sprintf("s%d", i))
		have := waitTask(t, m.URL, fmt.Sprintf("b%d", i))
		if have.Status != "succeeded" || have.Result != want.Result || have.Description != "batch" {
			t.Errorf("b%d: %s %q (%q), want succeeded %q like its single submission", i, have.Status, have.Result, have.Description, want.Result)
		}
	}
	for i := range 40 {
		if v := waitTask(t, m.URL, fmt.Sprintf("b%d", i)); v.Status != "succeeded" || v.Completions != 1 {
			t.Errorf("b%d: %s with %d completions", i, v.Status, v.Completions)
		}
	}
}

func waitTask(tb testing.TB, url, id string) api.Task {
	tb.Helper()
	code, _, b := do(tb, "GET", url+"/tasks/"+id+"?wait=30", "", nil)
	var v api.Task
	if err := json.Unmarshal(b, &v); code != 200 || err != nil {
		tb.Fatalf("GET /tasks/%s: %d %s", id, code, b)
	}
	return v
}

// A batch with anything wrong takes none of its tasks and names the task
// and field at fault.
func TestBatchAllOrNothing(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.MaxQueued = 10
	m := meshtest.Start(t, meshtest.Options{Gateway: &cfg})
	mod := putModule(t, m.URL, wasm.HashC)
	ok := func(id string) string { return fmt.Sprintf(`{"id": %q, "module": %q, "start": 3600}`, id, mod) }
	if code, _, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte("["+ok("taken")+"]")); code != 201 {
		t.Fatalf("first batch: %d %s", code, b)
	}
	many := make([]string, 11)
	for i := range many {
		many[i] = ok(fmt.Sprintf("m%d", i))
	}
	for _, c := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"not json", `id=x`, 400, "body"},
		{"broken json", `[{"id": "x",`, 400, "tasks[0]"},
		{"more after the batch", `[` + ok("a") + `] []`, 400, "body"},
		{"more after the object", `{"tasks": [` + ok("a") + `]} x`, 400, "body"},
		{"key twice", `{"tasks": [], "tasks": [` + ok("a") + `]}`, 400, "body"},
		{"too many", `[` + strings.Repeat(`{},`, httpapi.MaxBatch) + `{}]`, 400, "tasks"},
		{"empty", `[]`, 400, "tasks"},
		{"unknown top-level key", `{"task": []}`, 400, "body"},
		{"not an object", `[` + ok("a") + `, 5]`, 400, "tasks[1]"},
		{"null task", `[` + ok("a") + `, null]`, 400, "tasks[1]"},
		{"bad number", `[` + ok("a") + `, {"module": "` + mod + `", "difficulty": "abc"}]`, 400, "tasks[1].difficulty"},
		{"bad default", `{"defaults": {"repeats": 0}, "tasks": [` + ok("a") + `]}`, 400, "defaults.repeats"},
		{"bool", `[{"module": "` + mod + `", "input": true}]`, 400, "tasks[0].input"},
		{"array for one value", `[{"module": "` + mod + `", "input": [1]}]`, 400, "tasks[0].input"},
		{"unknown field", `[` + ok("a") + `, {"module": "` + mod + `", "strat": 1}]`, 400, "tasks[1].strat"},
		{"wasm bytes", `[{"wasm": "AGFzbQ=="}]`, 400, "tasks[0].wasm"},
		{"no module", `[{"id": "x"}]`, 400, "tasks[0].module"},
		{"unknown module", `[` + ok("a") + `, {"module": "sha256:` + strings.Repeat("ab", 32) + `"}]`, 400, "tasks[1].module"},
		{"bad id", `[` + ok("a") + `, ` + ok("../x") + `]`, 400, "tasks[1].id"},
		{"id twice", `[` + ok("a") + `, ` + ok("b") + `, ` + ok("a") + `]`, 409, "tasks[2].id"},
		{"id taken", `[` + ok("a") + `, ` + ok("taken") + `]`, 409, "tasks[1].id"},
		{"queue full", `[` + strings.Join(many, ",") + `]`, 429, ""},
	} {
		code, h, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte(c.body))
		var e struct{ Error, Field string }
		json.Unmarshal(b, &e)
		if code != c.code || e.Field != c.field || e.Error == "" || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s; want %d naming %q", c.name, code, b, c.code, c.field)
		}
	}
	if n := taskCount(t, m.URL); n != 1 {
		t.Fatalf("%d tasks after the refused batches, want the 1 taken before", n)
	}
	// Up to the limit is taken.
	if code, _, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte("["+strings.Join(many[:9], ",")+"]")); code != 201 {
		t.Fatalf("a batch up to the queue limit: %d %s", code, b)
	}
}

// Arrays keep every value as given: args as argv (even an argument that
// looks like JSON), env and labels as entries; null is as if absent.
func TestBatchFieldForms(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	mod := putModule(t, m.URL, wasm.HashC)
	body := `[{"id": "f", "module": "` + mod + `", "args": ["[x", "", "a b"], "env": ["K=V", "E="], "labels": ["gpu", "eu"],
		"priority": null, "repeats": "2", "start": 3600, "duration": 1.5}]`
	if code, _, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte(body)); code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	// A task's own time limit wins over a default given by the other name.
	body = `{"defaults": {"module": "` + mod + `", "duration": 7, "start": 3600}, "tasks": [{"id": "own", "timeout": 2}, {"id": "default"}]}`
	if code, _, b := do(t, "POST", m.URL+"/tasks/batch", "application/json", []byte(body)); code != http.StatusCreated {
		t.Fatalf("timeout over a default duration: %d %s", code, b)
	}
	if own, def := getTask(t, m.URL, "own"), getTask(t, m.URL, "default"); own.Duration != 2 || def.Duration != 7 {
		t.Fatalf("durations %v and %v, want 2 (its own) and 7 (the default)", own.Duration, def.Duration)
	}
	v := getTask(t, m.URL, "f")
	if strings.Join(v.Args, "|") != "[x||a b" || strings.Join(v.Env, "|") != "K=V|E=" || strings.Join(v.Labels, "|") != "gpu|eu" ||
		v.Priority != 0 || v.Repeats != 2 || v.Start != 3600 || v.Duration != 1.5 || v.Status != "scheduled" {
		t.Fatalf("stored as %+v", v)
	}
}

func getTask(tb testing.TB, url, id string) api.Task {
	tb.Helper()
	code, _, b := do(tb, "GET", url+"/tasks/"+id, "", nil)
	var v api.Task
	if err := json.Unmarshal(b, &v); code != 200 || err != nil {
		tb.Fatalf("GET /tasks/%s: %d %s", id, code, b)
	}
	return v
}
