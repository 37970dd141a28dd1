package httpapi_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

type part struct {
	name, value string
	file        []byte
}

func multipartBody(parts ...part) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.file != nil {
			w, _ := mw.CreateFormFile(p.name, "f")
			w.Write(p.file)
		} else {
			mw.WriteField(p.name, p.value)
		}
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func do(tb testing.TB, method, url, ct string, body []byte) (int, http.Header, []byte) {
	tb.Helper()
	return doAuth(tb, method, url, "", ct, body)
}

var hash = part{name: "wasm", file: wasm.HashC}

func TestSubmitValidation(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	ok := func(ps ...part) []part { return append([]part{hash}, ps...) }
	cases := []struct {
		name  string
		parts []part
		raw   string // a raw body instead of parts
		ct    string
		code  int
		field string
	}{
		{name: "not multipart", raw: `{"id":"x"}`, ct: "application/json", code: 400, field: "body"},
		{name: "no content type", raw: "x", code: 400, field: "body"},
		{name: "truncated multipart", raw: "--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nx", ct: "multipart/form-data; boundary=b", code: 400, field: "body"},
		{name: "no module", parts: []part{{name: "id", value: "x"}}, code: 400, field: "wasm"},
		{name: "start not a number", parts: ok(part{name: "start", value: "abc"}), code: 400, field: "start"},
		{name: "negative delay", parts: ok(part{name: "delay", value: "-1"}), code: 400, field: "delay"},
		{name: "repeats zero", parts: ok(part{name: "repeats", value: "0"}), code: 400, field: "repeats"},
		{name: "repeats overflow", parts: ok(part{name: "repeats", value: "99999999999999999999"}), code: 400, field: "repeats"},
		{name: "complete negative", parts: ok(part{name: "complete", value: "-3"}), code: 400, field: "complete"},
		{name: "input not integer", parts: ok(part{name: "input", value: "1.5"}), code: 400, field: "input"},
		{name: "difficulty empty", parts: ok(part{name: "difficulty", value: ""}), code: 400, field: "difficulty"},
		{name: "duration NaN", parts: ok(part{name: "duration", value: "NaN"}), code: 400, field: "duration"},
		{name: "duplicate start", parts: ok(part{name: "start", value: "1"}, part{name: "start", value: "2"}), code: 400, field: "start"},
		{name: "unknown field", parts: ok(part{name: "strat", value: "1"}), code: 400, field: "strat"},
		{name: "path traversal id", parts: ok(part{name: "id", value: "../../etc"}), code: 400, field: "id"},
		{name: "unicode id", parts: ok(part{name: "id", value: "tâche"}), code: 400, field: "id"},
		{name: "garbage wasm", parts: []part{{name: "wasm", file: []byte("not wasm at all")}}, code: 400, field: "wasm"},
		{name: "empty wasm", parts: []part{{name: "wasm", file: []byte{}}}, code: 400, field: "wasm"},
		{name: "truncated wasm", parts: []part{{name: "wasm", file: wasm.HashC[:100]}}, code: 400, field: "wasm"},
		{name: "unknown module hash", parts: []part{{name: "module", value: "sha256:" + strings.Repeat("ab", 32)}}, code: 400, field: "module"},
		{name: "bad module ref", parts: []part{{name: "module", value: "md5:abc"}}, code: 400, field: "module"},
		{name: "args not json", parts: ok(part{name: "args", value: "[1,"}), code: 400, field: "args"},
		{name: "env not K=V", parts: ok(part{name: "env", value: "novalue"}), code: 400, field: "env"},
		{name: "memory garbage", parts: ok(part{name: "memory", value: "lots"}), code: 400, field: "memory"},
		{name: "retries too many", parts: ok(part{name: "retries", value: "1000"}), code: 400, field: "retries"},
		{name: "duration and timeout", parts: ok(part{name: "duration", value: "1"}, part{name: "timeout", value: "2"}), code: 400, field: "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct, body := c.ct, []byte(c.raw)
			if c.parts != nil {
				ct, body = multipartBody(c.parts...)
			}
			code, h, b := do(t, "POST", m.URL+"/tasks", ct, body)
			var e struct{ Error, Field string }
			if err := json.Unmarshal(b, &e); err != nil || h.Get("Content-Type") != "application/json" {
				t.Fatalf("response is not a JSON error: %s %q", h.Get("Content-Type"), b)
			}
			if code != c.code || e.Field != c.field || e.Error == "" {
				t.Fatalf("got %d field %q (%s), want %d field %q", code, e.Field, e.Error, c.code, c.field)
			}
		})
	}
	// Nothing was accepted, and the gateway still takes a good task.
	if code, _, b := do(t, "GET", m.URL+"/tasks", "", nil); code != 200 || strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("tasks after bad input: %d %s", code, b)
	}
	ct, body := multipartBody(hash, part{name: "id", value: "good"})
	if code, h, _ := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 || h.Get("Location") != "/tasks/good" {
		t.Fatalf("good task: %d %v", code, h)
	}
	if code, _, _ := do(t, "POST", m.URL+"/tasks", ct, body); code != 409 {
		t.Fatalf("duplicate id: %d, want 409", code)
	}
}

func TestUploadLimit(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	ct, body := multipartBody(part{name: "wasm", file: make([]byte, 65<<20)})
	code, _, b := do(t, "POST", m.URL+"/tasks", ct, body)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "upload limit") {
		t.Fatalf("over the limit: %d %s", code, b)
	}
}

func TestEndpoints(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	ct, body := multipartBody(hash, part{name: "id", value: "a"}, part{name: "input", value: "0"}, part{name: "difficulty", value: "3"},
		part{name: "start", value: "100"}, part{name: "args", value: "x"}, part{name: "args", value: "y"}, part{name: "labels", value: "gpu, big"})
	if code, _, b := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	code, _, b := do(t, "GET", m.URL+"/tasks/a", "", nil)
	var v api.Task
	json.Unmarshal(b, &v)
	if code != 200 || v.Status != "scheduled" || *v.Input != 0 || *v.Difficulty != 3 || v.Start != 100 ||
		strings.Join(v.Args, ",") != "x,y" || strings.Join(v.Labels, ",") != "gpu,big" || v.Repeats != 1 || v.Retries != 2 {
		t.Fatalf("GET /tasks/a: %d %s", code, b)
	}
	for _, c := range []struct {
		method, path string
		code         int
		has          string
	}{
		{"GET", "/tasks/nope", 404, "not found"},
		{"DELETE", "/tasks/a", 200, `"canceled"`},
		{"DELETE", "/tasks/a", 409, "already ended"},
		{"GET", "/tasks/a/logs", 200, `"done": true`},
		{"GET", "/tasks/a?wait=abc", 400, `"wait"`},
		{"GET", "/tasks/a?wait=1", 200, `"canceled"`},
		{"GET", "/workers", 200, "[]"},
		{"GET", "/info", 200, m.Host.ID().String()},
		{"GET", "/healthz", 200, `"ok"`},
		{"GET", "/readyz", 200, `"ready"`},
		{"GET", "/metrics", 200, `shoal_tasks{status="canceled"} 1`},
		{"GET", "/nothing", 404, "no such endpoint"},
		{"PATCH", "/tasks/a", 405, ""},
		{"GET", "//tasks/a", 200, `"id": "a"`}, // redirected to the clean path
	} {
		code, _, b := do(t, c.method, m.URL+c.path, "", nil)
		if code != c.code || !strings.Contains(string(b), c.has) {
			t.Errorf("%s %s: %d %s; want %d containing %q", c.method, c.path, code, b, c.code, c.has)
		}
	}
	code, _, b = do(t, "PUT", m.URL+"/modules", "application/wasm", wasm.Hello)
	if code != 201 || !strings.Contains(string(b), `"sha256"`) {
		t.Fatalf("PUT /modules: %d %s", code, b)
	}
}

func TestQueueLimit(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.MaxQueued = 5
	m := meshtest.Start(t, meshtest.Options{Gateway: &cfg})
	ct, body := multipartBody(hash, part{name: "id", value: "four"}, part{name: "repeats", value: "4"})
	if code, _, b := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("within the limit: %d %s", code, b)
	}
	ct, body = multipartBody(hash, part{name: "id", value: "two"}, part{name: "repeats", value: "2"})
	code, h, b := do(t, "POST", m.URL+"/tasks", ct, body)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(b), "queue full") {
		t.Fatalf("past the limit: %d %v %s", code, h, b)
	}
	ct, body = multipartBody(hash, part{name: "id", value: "one"})
	if code, _, b := do(t, "POST", m.URL+"/tasks", ct, body); code != 201 {
		t.Fatalf("up to the limit: %d %s", code, b)
	}
}
