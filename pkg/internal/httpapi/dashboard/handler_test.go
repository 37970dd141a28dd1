package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi/dashboard"
)

func TestHandlerServesFilesWithHeaders(t *testing.T) {
	h := dashboard.Handler()
	for _, c := range []struct {
		path, ctype, has string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="ui/app.js">`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "function route()"},
		{"/ui/api.js", "text/javascript; charset=utf-8", "export async function readEvents("},
		{"/ui/style.css", "text/css; charset=utf-8", ".badge.succeeded"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(c.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", c.path, nil))
			hd := w.Header()
			if w.Code != 200 || hd.Get("Content-Type") != c.ctype || !strings.Contains(w.Body.String(), c.has) {
				t.Fatalf("%d %q, want 200 %q containing %q", w.Code, hd.Get("Content-Type"), c.ctype, c.has)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "no-cache",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "no-referrer",
			} {
				if got := hd.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			csp := hd.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			etag := hd.Get("ETag")
			if len(etag) < 10 {
				t.Fatalf("ETag %q", etag)
			}

			// A browser's revalidation gets 304 with no body; HEAD gets the headers only.
			r := httptest.NewRequest("GET", c.path, nil)
			r.Header.Set("If-None-Match", etag)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
				t.Errorf("revalidation: %d with %d bytes, want 304", w.Code, w.Body.Len())
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("HEAD", c.path, nil))
			if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Type") != c.ctype {
				t.Errorf("HEAD: %d %q with %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
			}
		})
	}
	// The files differ, and so do their tags.
	tags := map[string]bool{}
	for _, p := range []string{"/", "/ui/app.js", "/ui/api.js", "/ui/style.css"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		tags[w.Header().Get("ETag")] = true
	}
	if len(tags) != 4 {
		t.Errorf("ETags %v are not distinct", tags)
	}
}

func TestHandlerRefusesWhatItDoesNotOwn(t *testing.T) {
	for _, c := range []struct{ method, path string }{{"GET", "/ui/nope.js"}, {"GET", "/tasks"}, {"POST", "/"}} {
		w := httptest.NewRecorder()
		dashboard.Handler().ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, w.Code)
		}
	}
}
