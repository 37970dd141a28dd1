package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
	"github.com/shoalmesh/shoal/pkg/internal/httpapi/dashboard"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// FuzzServeHTTP sends arbitrary requests to the whole API of a real
// gateway holding a task: no request may cause a 500 or an answer that is
// not JSON (log streams, /metrics and the dashboard's files aside), and
// every error says what went wrong.
func FuzzServeHTTP(f *testing.F) {
	m := meshtest.Start(f, meshtest.Options{})
	api := httpapi.DefaultConfig()
	api.MaxUpload = 1 << 20
	s := httpapi.New(api, m.Gateway, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ct, body := multipartBody(hash, part{name: "id", value: "a"}, part{name: "start", value: "3600"})
	if code, _, b := serve(s, "POST", "/tasks", ct, body); code != http.StatusCreated {
		f.Fatalf("seed task: %d %s", code, b)
	}

	f.Add("POST", "/tasks", ct, body)
	f.Add("POST", "/tasks", "multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nx\r\n--b--\r\n"))
	f.Add("POST", "/tasks", "application/json", []byte(`{"id":"x"}`))
	f.Add("PUT", "/modules", "application/wasm", wasm.HashC)
	f.Add("PUT", "/modules", "", []byte("garbage"))
	for _, path := range []string{"/tasks", "/tasks/a", "/tasks/a?wait=0.01", "/tasks/a?wait=NaN", "/tasks/a/logs",
		"/tasks/a/logs?follow=1", "/tasks/nope", "/tasks/%2e%2e", "//tasks/a", "/workers", "/info", "/healthz", "/metrics", "/nothing",
		"/", "/ui/app.js", "/ui/nope.js"} {
		f.Add("GET", path, "", []byte(nil))
	}
	f.Add("DELETE", "/tasks/nope", "", []byte(nil))
	f.Add("PATCH", "/tasks/a", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, contentType string, body []byte) {
		if method == "DELETE" && strings.Contains(path, "/a") {
			return // the seed task must stay for the other inputs
		}
		code, h, b := serve(s, method, path, contentType, body)
		if r, err := http.NewRequest(method, "http://gateway"+path, nil); code != 0 && err == nil && dashboard.Owns(r) {
			if code != http.StatusOK {
				t.Fatalf("%s %q, the dashboard's: %d %s", method, path, code, b)
			}
			return // a file of the dashboard, not JSON
		}
		switch ct := h.Get("Content-Type"); {
		case code == 0:
			return // not a request a client could send
		case code >= 500:
			t.Fatalf("%s %q: %d %s", method, path, code, b)
		case code >= 300 && code < 400, ct == "text/event-stream", strings.HasPrefix(ct, "text/plain") && code == http.StatusOK:
		case ct != "application/json" || !json.Valid(b):
			t.Fatalf("%s %q: %d with %q: %q", method, path, code, ct, b)
		case code >= 400:
			var e struct{ Error string }
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("%s %q: %d without an error message: %s", method, path, code, b)
			}
		}
	})
}

// serve passes one request to h in-process; code is 0 when the request
// cannot be built. Waits and log streams are cut short.
func serve(h http.Handler, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if !strings.HasPrefix(path, "/") {
		return 0, nil, nil
	}
	r, err := http.NewRequestWithContext(ctx, method, "http://gateway"+path, bytes.NewReader(body))
	if err != nil || r.URL.Host != "gateway" {
		return 0, nil, nil
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Header(), w.Body.Bytes()
}
