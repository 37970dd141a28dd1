package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/apischema"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/version"
	"github.com/shoalmesh/shoal/wasm"
)

// registered are the patterns the package registers on the API's mux
// (s.mux.Handle and s.mux.HandleFunc calls), read from its source: the
// mux cannot list them.
func registered(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			mux, ok := sel.X.(*ast.SelectorExpr)
			if !ok || mux.Sel.Name != "mux" || len(call.Args) == 0 {
				return true // another mux: NodeHandler's, MetricsHandler's
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				tb.Errorf("%s: a pattern that is not a literal", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	return out
}

// The server answers exactly the routes of api.Routes: each route of the
// table reaches a handler (the mux's own 404 or 405 says "no such
// endpoint"), and every pattern the server registers is in the table.
func TestServerAnswersTheRouteTable(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	table := map[string]bool{}
	for _, r := range api.Routes {
		table[r.Pattern()] = true
		path := strings.ReplaceAll(r.Path, "{id}", "no-such-task")
		code, _, b := do(t, r.Method, m.URL+path, "", nil)
		var e api.Error
		_ = json.Unmarshal(b, &e)
		if code == http.StatusMethodNotAllowed || strings.HasPrefix(e.Message, "no such endpoint") {
			t.Errorf("%s: the server does not answer it: %d %s", r.Pattern(), code, b)
		}
	}
	pats := registered(t)
	if len(pats) < 10 {
		t.Fatalf("found %d patterns in the source: %v; the search is broken", len(pats), pats)
	}
	for _, p := range pats {
		if !table[p] {
			t.Errorf("the server registers %q, which api.Routes lacks", p)
		}
	}
	for p := range table {
		if !slices.Contains(pats, p) {
			t.Errorf("api.Routes has %q, which the server does not register", p)
		}
	}
}

func mustServedDoc(tb testing.TB, url, auth string) *apischema.Doc {
	tb.Helper()
	code, h, b := doAuth(tb, "GET", url+"/openapi.json", auth, "", nil)
	if code != 200 || h.Get("Content-Type") != "application/json" {
		tb.Fatalf("GET /openapi.json: %d %s %.200s", code, h.Get("Content-Type"), b)
	}
	d, err := apischema.New(b)
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.Structure(); err != nil {
		tb.Fatalf("the served document is not sound:\n%v", err)
	}
	// It is api.OpenAPI's document, all of it, with the gateway's version.
	var served, built map[string]any
	want, err := api.OpenAPI()
	if err != nil {
		tb.Fatal(err)
	}
	wb, _ := json.Marshal(want)
	if err := json.Unmarshal(b, &served); err != nil || json.Unmarshal(wb, &built) != nil {
		tb.Fatal(err)
	}
	info, _ := served["info"].(map[string]any)
	if info["version"] != version.Version {
		tb.Errorf("info.version %q, want the gateway's %q", info["version"], version.Version)
	}
	info["version"] = built["info"].(map[string]any)["version"]
	if !reflect.DeepEqual(served, built) {
		tb.Errorf("the served document is not api.OpenAPI's")
	}
	return d
}

// GET /openapi.json needs no token, even when every other route does; a
// token, good or bad, changes nothing.
func TestOpenAPIIsPublic(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t, "alice "+aliceToken+"\n")})
	mustServedDoc(t, m.URL, "")
	mustServedDoc(t, m.URL, bearer(aliceToken))
	mustServedDoc(t, m.URL, bearer("mallory-0123456789abcdef"))
	if code, _, b := doAuth(t, "GET", m.URL+"/info", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /info without a token: %d %s", code, b)
	}
	if code, _, b := doAuth(t, "POST", m.URL+"/openapi.json", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("POST /openapi.json without a token: %d %s, want 401 like any route but the public ones", code, b)
	}
}

// The answers of a real gateway, successes and errors, are what its
// document says, required properties and all; so are the events of a
// followed log.
func TestAnswersMatchTheDocument(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1})
	d := mustServedDoc(t, m.URL, "")
	check := func(method, path string, code int, body []byte) {
		t.Helper()
		s, err := d.Answer(method, strings.Split(path, "?")[0], code)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return
		}
		if err := d.CheckJSON(s, body); err != nil {
			t.Errorf("%s %s: the %d answer does not match the document: %v\n%s", method, path, code, err, body)
		}
	}
	call := func(method, path, ct string, body []byte, want int) []byte {
		t.Helper()
		code, _, b := do(t, method, m.URL+path, ct, body)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		check(method, path, code, b)
		return b
	}
	call("PUT", "/modules", "application/wasm", wasm.Hello, 201)
	call("PUT", "/modules", "application/wasm", []byte("not wasm"), 400)
	ct, body := multipartBody(part{name: "wasm", file: wasm.Hello}, part{name: "id", value: "t1"},
		part{name: "args", value: `["a", "b"]`}, part{name: "env", value: "K=V"}, part{name: "stdin", file: []byte("xyz")},
		part{name: "repeats", value: "2"}, part{name: "memory", value: "64MiB"}, part{name: "input", value: "7"})
	call("POST", "/tasks", ct, body, 201)
	call("POST", "/tasks", ct, body, 409)
	ct, body = multipartBody(hash, part{name: "difficulty", value: "abc"})
	call("POST", "/tasks", ct, body, 400)
	call("GET", "/tasks/t1?wait=30", "", nil, 200)
	call("GET", "/tasks/t1?wait=never", "", nil, 400)
	call("GET", "/tasks/nope", "", nil, 404)
	call("GET", "/tasks", "", nil, 200)
	call("GET", "/tasks/t1/logs", "", nil, 200)
	call("DELETE", "/tasks/t1", "", nil, 409)
	batch := `{"defaults": {"start": 3600}, "tasks": [{"id": "b1", "module": "sha256:` + hashCHex + `", "labels": ["x", "y"]}]}`
	if code, _, b := do(t, "PUT", m.URL+"/modules", "application/wasm", wasm.HashC); code != 201 {
		t.Fatalf("PUT /modules: %d %s", code, b)
	}
	call("POST", "/tasks/batch", "application/json", []byte(batch), 201)
	call("POST", "/tasks/batch", "application/json", []byte(`[{"difficulty": "x"}]`), 400)
	call("DELETE", "/tasks/b1", "", nil, 200)
	call("GET", "/workers", "", nil, 200)
	call("GET", "/info", "", nil, 200)
	call("GET", "/healthz", "", nil, 200)
	call("GET", "/readyz", "", nil, 200)
	if code, _, b := do(t, "GET", m.URL+"/no/such/path", "", nil); code != 404 ||
		d.CheckJSON(map[string]any{"$ref": "#/components/schemas/Error"}, b) != nil {
		t.Errorf("GET /no/such/path: %d %s, want 404 with an Error", code, b)
	}

	// The events of ?follow=1 against x-events of the answer's stream.
	_, op, err := d.Operation("GET", "/tasks/t1/logs")
	if err != nil {
		t.Fatal(err)
	}
	stream := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["text/event-stream"].(map[string]any)
	events := stream["x-events"].(map[string]any)
	code, h, b := do(t, "GET", m.URL+"/tasks/t1/logs?follow=1", "", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("follow: %d %s", code, h.Get("Content-Type"))
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var event string
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			s, ok := events[event].(map[string]any)
			if !ok {
				t.Fatalf("event %q is not in x-events %v", event, events)
			}
			if err := d.CheckJSON(s, []byte(data)); err != nil {
				t.Errorf("event %s: %v\n%s", event, err, data)
			}
			seen[event]++
		}
	}
	if seen[api.EventLog] == 0 || seen[api.EventEnd] != 1 {
		t.Errorf("events %v, want log events and one end", seen)
	}
}
