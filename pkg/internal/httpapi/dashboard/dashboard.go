// Package dashboard serves the gateway's web dashboard: one page at / and
// its files under /ui/, embedded in the binary. They are plain HTML, CSS and
// JavaScript with no build step, and load nothing from elsewhere. They hold
// no data: the page fetches everything from the API of the gateway that
// served it, with the bearer token the user gives it, so Owns lets the API
// serve them without a token.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the page's files are served; the page itself is at /.
const Prefix = "/ui/"

// headers are set on every response of the dashboard. The policy allows only
// the gateway's own origin, so a page that runs injected markup still
// cannot load or send anything elsewhere; the files change with the binary,
// so browsers revalidate them (ETag) on each load.
var headers = map[string]string{
	"Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

// contentTypes are the types of the files the dashboard holds, by
// extension; the system's MIME table is not consulted, so the answer does
// not depend on the machine.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

type file struct {
	name  string
	ctype string
	etag  string
	body  []byte
}

// files are the dashboard's responses by URL path.
var files = mustLoad()

func mustLoad() map[string]*file {
	out, err := load(static)
	if err != nil {
		panic(err) // the embedded files are fixed at build time; the tests load them
	}
	return out
}

// load maps static/index.html to / and static/ui/NAME to /ui/NAME.
func load(fsys fs.FS) (map[string]*file, error) {
	out := map[string]*file{}
	err := fs.WalkDir(fsys, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("dashboard: %s: no content type for its extension", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{name: path.Base(name), ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, body: body}
		switch rel := strings.TrimPrefix(name, "static/"); {
		case rel == "index.html":
			out["/"] = f
		case strings.HasPrefix(rel, "ui/"):
			out[Prefix+strings.TrimPrefix(rel, "ui/")] = f
		default:
			return fmt.Errorf("dashboard: %s: neither index.html nor under ui/", name)
		}
		return nil
	})
	if err == nil && out["/"] == nil {
		err = fmt.Errorf("dashboard: no index.html")
	}
	return out, err
}

// Owns reports whether r asks for the page or one of its files: a GET or
// HEAD of exactly / or of a file under /ui/. Any other request, /ui/NOPE
// included, is the API's to answer.
func Owns(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	_, ok := files[r.URL.Path]
	return ok
}

// Handler serves the requests Owns reports; it answers any other with 404.
func Handler() http.Handler { return handler{} }

type handler struct{}

func (handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !Owns(r) {
		http.NotFound(w, r)
		return
	}
	f := files[r.URL.Path]
	h := w.Header()
	for k, v := range headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	// ServeContent answers HEAD, Range and If-None-Match (304).
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
