package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// The dashboard's page and files are served to anyone, at / and /ui/
// only; every other path, and all data, stays the API's, token and JSON
// errors included.
func TestDashboardRoutes(t *testing.T) {
	for _, c := range []struct {
		name   string
		tokens bool
	}{{"open API", false}, {"API with tokens", true}} {
		t.Run(c.name, func(t *testing.T) {
			opts := meshtest.Options{}
			auth := ""
			if c.tokens {
				opts.Tokens = MustTokens(t, "alice "+aliceToken+"\n")
				auth = bearer(aliceToken)
			}
			m := meshtest.Start(t, opts)
			for _, f := range []struct{ method, path, ctype string }{
				{"GET", "/", "text/html; charset=utf-8"},
				{"HEAD", "/", "text/html; charset=utf-8"},
				{"GET", "/ui/app.js", "text/javascript; charset=utf-8"},
				{"GET", "/ui/api.js", "text/javascript; charset=utf-8"},
				{"GET", "/ui/style.css", "text/css; charset=utf-8"},
				{"GET", "/ui/favicon.svg", "image/svg+xml"},
			} {
				code, h, b := doAuth(t, f.method, m.URL+f.path, "", "", nil)
				if code != 200 || h.Get("Content-Type") != f.ctype || h.Get("X-Content-Type-Options") != "nosniff" ||
					!strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'self'") || h.Get("Cache-Control") != "no-cache" ||
					(f.method == "GET") != (len(b) > 0) {
					t.Errorf("%s %s without a token: %d %v (%d bytes)", f.method, f.path, code, h, len(b))
				}
			}
			if code, _, b := doAuth(t, "GET", m.URL+"/", "", "", nil); code != 200 || !strings.Contains(string(b), "<title>Shoal</title>") {
				t.Errorf("GET /: %d %.100s", code, b)
			}
			// The API's answers are unchanged: a token where tokens are
			// set, and JSON 404s for what is not a file of the dashboard.
			for _, r := range []struct {
				method, path string
				code         int
				has          string
			}{
				{"GET", "/tasks", 200, "[]"},
				{"GET", "/workers", 200, "[]"},
				{"GET", "/jobs", 200, "[]"},
				{"GET", "/nothing", 404, "no such endpoint"},
				{"GET", "/ui/nope.js", 404, "no such endpoint"},
				{"GET", "/ui/", 404, "no such endpoint"},
				{"GET", "/index.html", 404, "no such endpoint"},
				{"POST", "/", 404, "no such endpoint"},
				{"DELETE", "/ui/app.js", 404, "no such endpoint"},
			} {
				if c.tokens {
					code, h, b := doAuth(t, r.method, m.URL+r.path, "", "", nil)
					if code != http.StatusUnauthorized || h.Get("Content-Type") != "application/json" {
						t.Errorf("%s %s without a token: %d %s, want 401", r.method, r.path, code, b)
					}
				}
				code, h, b := doAuth(t, r.method, m.URL+r.path, auth, "", nil)
				var e struct{ Error string }
				if code != r.code || h.Get("Content-Type") != "application/json" || !json.Valid(b) || !strings.Contains(string(b), r.has) ||
					(code >= 400 && (json.Unmarshal(b, &e) != nil || e.Error == "")) {
					t.Errorf("%s %s: %d %q %s, want %d with %q", r.method, r.path, code, h.Get("Content-Type"), b, r.code, r.has)
				}
			}
		})
	}
}
