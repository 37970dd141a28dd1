package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/apischema"
)

func mustDoc(tb testing.TB) *apischema.Doc {
	tb.Helper()
	m, err := api.OpenAPI()
	if err != nil {
		tb.Fatal(err)
	}
	d, err := apischema.New(m)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestOpenAPIStructure(t *testing.T) {
	d := mustDoc(t)
	if err := d.Structure(); err != nil {
		t.Fatalf("the document is not sound OpenAPI 3.0:\n%v", err)
	}
	for _, r := range api.Routes {
		path := strings.ReplaceAll(r.Path, "{id}", "t1")
		if _, err := d.Answer(r.Method, path, r.Status); err != nil && r.Answer != nil {
			t.Errorf("%s: %v", r.Pattern(), err)
		}
		for _, c := range r.Errors {
			s, err := d.Answer(r.Method, path, c.Status())
			if err != nil {
				t.Errorf("%s, code %s: %v", r.Pattern(), c, err)
				continue
			}
			e := api.Error{Message: "m", Code: c}
			if err := d.Check(s, decoded(t, e), true); err != nil {
				t.Errorf("%s: the %d answer does not take an Error with code %s: %v", r.Pattern(), c.Status(), c, err)
			}
		}
	}
}

// Each route is listed once, and its errors have the statuses of their
// codes.
func TestRoutesAreOneList(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range api.Routes {
		if seen[r.Pattern()] {
			t.Errorf("%s is listed twice", r.Pattern())
		}
		seen[r.Pattern()] = true
		if r.Public && strings.Contains(r.Path, "{") {
			t.Errorf("%s: a public route has no path parameters (the gateway matches it exactly)", r.Pattern())
		}
		if (r.Answer == nil) == (r.Media == "") {
			t.Errorf("%s: give its answer's Go type or its media type, one of them", r.Pattern())
		}
	}
}

// decoded is v as JSON decodes it, numbers as json.Number.
func decoded(tb testing.TB, v any) any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		tb.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// The schemas made by reflection take what encoding/json writes of the
// types, zero values (nil slices as null) included, and refuse what it
// does not.
func TestOpenAPISchemasTakeTheTypes(t *testing.T) {
	d := mustDoc(t)
	now := time.Date(2025, 5, 1, 12, 0, 0, 123, time.UTC)
	full := api.Task{ID: "t1", Status: api.Running, Input: ptr(int64(-3)), Difficulty: ptr(int64(0)),
		Args: []string{"a"}, Env: []string{"K=V"}, Memory: 1 << 40, Labels: []string{"gpu"}, Dirs: []string{"data"},
		Owner: "alice", Created: now, Duration: 1.5,
		Runs: []api.Run{{Index: 0, Status: api.Succeeded, Due: now, Worker: "w", Started: now, Ended: now, ExitCode: -1,
			Result: "42", Error: "x", Truncated: true, Timing: api.Timing{Queue: time.Millisecond, Total: time.Second}}}}
	cases := []struct {
		name   string
		schema string
		v      any
		bad    string // what the checker must say, when v must not validate
	}{
		{"full task", "Task", full, ""},
		{"zero task", "Task", api.Task{Status: api.Queued}, ""},
		{"worker", "Worker", api.Worker{ID: "w", Labels: []string{"x"}}, ""},
		{"zero worker", "Worker", api.Worker{}, ""},
		{"logs", "Logs", api.Logs{Task: "t", Entries: []api.LogEntry{{Seq: 1, Time: now, Stream: "stdout", Data: "hi"}}}, ""},
		{"batch", "Batch", api.Batch{Count: 1, Tasks: []api.BatchTask{{ID: "t", Status: api.Queued}}}, ""},
		{"error", "Error", api.Errorf(api.CodeNotFound, "no"), ""},
		{"ready", "Ready", api.Ready{Status: "not ready", Reason: "starting"}, ""},
		{"unknown status", "BatchTask", map[string]any{"id": "t", "status": "sleeping"}, "not one of"},
		{"client-side code", "Error", api.Errorf(api.CodeNotReachable, "no"), "not one of"},
		{"missing field", "Module", map[string]any{"sha256": "ab", "module": "sha256:ab"}, `"size" is required`},
		{"zero info", "Info", api.Info{}, ""},
		{"extra field", "Info", map[string]any{"peer_id": "p", "addrs": nil, "version": "v", "uptime": 3}, `"uptime" is not a property`},
		{"string for int", "Health", map[string]any{"status": "ok", "role": "gateway", "workers": "2", "tasks": 0}, "not a number"},
		{"float for int", "Health", map[string]any{"status": "ok", "role": "gateway", "workers": 2.5, "tasks": 0}, "not an integer"},
		{"null for int", "Worker", map[string]any{"id": "w", "slots": nil, "used": 0, "waiting": 0, "memory": 0, "memory_used": 0, "labels": nil, "cached": nil, "runs": 0}, "not nullable"},
		{"bad time", "LogEntry", map[string]any{"seq": 1, "time": "yesterday", "run": 0, "attempt": 0, "stream": "stdout", "data": ""}, "not a date-time"},
		{"negative memory", "Worker", map[string]any{"id": "w", "slots": 1, "used": 0, "waiting": 0, "memory": -1, "memory_used": 0, "labels": nil, "cached": nil, "runs": 0}, "minimum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := d.Check(map[string]any{"$ref": "#/components/schemas/" + c.schema}, decoded(t, c.v), true)
			switch {
			case c.bad == "" && err != nil:
				t.Errorf("%v", err)
			case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
				t.Errorf("got %v, want an error with %q", err, c.bad)
			}
		})
	}
}

// The form of POST /tasks and the task object of a batch have every field
// of TaskFields (but wasm in a batch), described by its usage.
func TestOpenAPIFieldsFromTheTable(t *testing.T) {
	m, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	schemas := m["components"].(map[string]any)["schemas"].(map[string]any)
	form := schemas["TaskForm"].(map[string]any)["properties"].(map[string]any)
	batch := schemas["BatchTaskRequest"].(map[string]any)["properties"].(map[string]any)
	for _, f := range api.TaskFields {
		p, ok := form[f.Name].(map[string]any)
		if !ok || !strings.HasPrefix(p["description"].(string), f.Usage) {
			t.Errorf("form field %s: %v", f.Name, p)
		}
		if f.Repeatable && p["type"] != "array" {
			t.Errorf("form field %s is repeatable, but not an array: %v", f.Name, p)
		}
		if _, ok := batch[f.Name]; ok == (f.Name == "wasm") {
			t.Errorf("batch field %s: in the schema %v, want %v", f.Name, ok, f.Name != "wasm")
		}
	}
	if len(form) != len(api.TaskFields) || len(batch) != len(api.TaskFields)-1 {
		t.Errorf("%d form and %d batch fields for %d in the table", len(form), len(batch), len(api.TaskFields))
	}
}

// An example of the README: the curl command and the JSON it shows.
type example struct {
	line         int
	method, path string
	body         string
	partial      bool // a line "..." stands for properties left out
}

var (
	urlRe     = regexp.MustCompile(`(?:https?://)?(?:localhost|127\.0\.0\.1)(?::\d+)?(/[^\s'"?]*)`)
	elisionRe = regexp.MustCompile(`(?m)^\s*\.\.\.\s*$\n?`)
	commaRe   = regexp.MustCompile(`,(\s*[}\]])`)
)

// readmeExamples finds, in the README's code blocks, each `$ curl ...`
// command (with its \ continuation lines) that a JSON answer follows, up
// to the next `$ ` line or the block's end. Piped commands are skipped:
// what they show is not the answer.
func readmeExamples(tb testing.TB, text string) []example {
	tb.Helper()
	var out []example
	lines := strings.Split(text, "\n")
	inBlock := false
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || !strings.HasPrefix(lines[i], "$ curl ") {
			continue
		}
		start := i
		cmd := lines[i]
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + " " + lines[i]
		}
		var body []string
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "$ ") && !strings.HasPrefix(lines[i+1], "```") {
			i++
			body = append(body, lines[i])
		}
		answer := strings.TrimSpace(strings.Join(body, "\n"))
		if strings.Contains(cmd, "|") || !(strings.HasPrefix(answer, "{") || strings.HasPrefix(answer, "[")) {
			continue
		}
		m := urlRe.FindStringSubmatch(cmd)
		if m == nil {
			tb.Fatalf("README.md:%d: no URL in %q", start+1, cmd)
		}
		ex := example{line: start + 1, method: method(cmd), path: m[1], body: answer}
		if elisionRe.MatchString(answer) {
			ex.partial = true
			ex.body = commaRe.ReplaceAllString(elisionRe.ReplaceAllString(answer, ""), "$1")
		}
		out = append(out, ex)
	}
	return out
}

// method is the HTTP method of a curl command line.
func method(cmd string) string {
	f := strings.Fields(cmd)
	for i, a := range f {
		if a == "-X" && i+1 < len(f) {
			return f[i+1]
		}
	}
	for _, a := range f {
		switch {
		case a == "-T" || a == "--upload-file":
			return http.MethodPut
		case a == "-F" || a == "-d" || strings.HasPrefix(a, "--data"):
			return http.MethodPost
		}
	}
	return http.MethodGet
}

// The JSON answers the README shows are what the document says the API
// answers: an answer with an "error" key is checked as an Error, whose
// code the route must list; any other as the route's success. A README
// answer cut with a "..." line is checked for what it shows.
func TestREADMEExamplesMatchTheDocument(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	d := mustDoc(t)
	exs := readmeExamples(t, string(b))
	if len(exs) < 5 {
		t.Fatalf("found %d JSON examples in README.md; the extraction is broken", len(exs))
	}
	for _, ex := range exs {
		name := "README.md:" + strconv.Itoa(ex.line) + " " + ex.method + " " + ex.path
		t.Run(name, func(t *testing.T) {
			var v any
			dec := json.NewDecoder(strings.NewReader(ex.body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, ex.body)
			}
			route := routeOf(t, ex.method, ex.path)
			status := route.Status
			if e, ok := v.(map[string]any); ok && e["error"] != nil {
				c := api.Code(e["code"].(string))
				if !slices.Contains(route.Errors, c) {
					t.Errorf("code %s is not among %s's errors %v", c, route.Pattern(), route.Errors)
				}
				status = c.Status()
			}
			s, err := d.Answer(ex.method, ex.path, status)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Check(s, v, !ex.partial); err != nil {
				t.Errorf("does not match the document: %v\n%s", err, ex.body)
			}
		})
	}
}

// routeOf is the route of the table that serves method on path.
func routeOf(tb testing.TB, method, path string) *api.Route {
	tb.Helper()
	d := mustDoc(tb)
	tmpl, _, err := d.Operation(method, path)
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range api.Routes {
		if r.Method == method && r.Path == tmpl {
			return &api.Routes[i]
		}
	}
	tb.Fatalf("%s %s: no route", method, tmpl)
	return nil
}
