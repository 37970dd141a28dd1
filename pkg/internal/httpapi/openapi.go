package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/version"
)

// public are the routes served without a token (api.Route.Public), by
// method and exact path: the OpenAPI document is the same for every
// gateway of a version and holds nothing about its tasks or workers, and
// a tool reads it before it has a token.
var public = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range api.Routes {
		if r.Public {
			m[r.Method+" "+r.Path] = true
		}
	}
	return m
}()

// isPublic reports whether r asks for a public route.
func isPublic(r *http.Request) bool { return public[r.Method+" "+r.URL.Path] }

// openAPI serves GET /openapi.json: api.OpenAPI's document, with the
// gateway's version.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	b, err := openAPIDoc()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b) // the client went away: nothing left to tell it
}

// openAPIDoc is built once: it depends only on the code and its version.
// Its top-level keys come in the order people read them (a map's would be
// sorted), so `curl .../openapi.json | head` shows what it is.
var openAPIDoc = sync.OnceValues(func() ([]byte, error) {
	doc, err := api.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc["info"].(map[string]any)["version"] = version.Version
	b, err := json.MarshalIndent(struct {
		OpenAPI    any `json:"openapi"`
		Info       any `json:"info"`
		Security   any `json:"security"`
		Paths      any `json:"paths"`
		Components any `json:"components"`
	}{doc["openapi"], doc["info"], doc["security"], doc["paths"], doc["components"]}, "", "  ")
	return append(b, '\n'), err
})
