package dashboard

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMapsFilesToPaths(t *testing.T) {
	for _, p := range []string{"/", "/ui/app.js", "/ui/api.js", "/ui/dom.js", "/ui/procs.js", "/ui/jobs.js", "/ui/graph.js",
		"/ui/logs.js", "/ui/poll.js", "/ui/style.css", "/ui/favicon.svg"} {
		if files[p] == nil {
			t.Errorf("%s is not served", p)
		}
	}
	for p, f := range files {
		if p != "/" && !strings.HasPrefix(p, Prefix) {
			t.Errorf("%s (%s) is outside / and %s", p, f.name, Prefix)
		}
	}
	cases := []struct {
		name  string
		fsys  fstest.MapFS
		error string // "" when it loads
	}{
		{"page and files", fstest.MapFS{"static/index.html": {}, "static/ui/a.js": {}, "static/ui/b.css": {}}, ""},
		{"no page", fstest.MapFS{"static/ui/a.js": {}}, "no index.html"},
		{"unknown extension", fstest.MapFS{"static/index.html": {}, "static/ui/a.png": {}}, "no content type"},
		{"file beside the page", fstest.MapFS{"static/index.html": {}, "static/other.html": {}}, "neither index.html nor under ui/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := load(c.fsys)
			switch {
			case c.error == "" && err != nil:
				t.Fatal(err)
			case c.error == "" && (got["/"] == nil || got["/ui/a.js"] == nil || got["/ui/b.css"].ctype != "text/css; charset=utf-8"):
				t.Fatalf("loaded %v", got)
			case c.error != "" && (err == nil || !strings.Contains(err.Error(), c.error)):
				t.Fatalf("error %v, want one saying %q", err, c.error)
			}
		})
	}
}

// Everything the page and its scripts refer to is one of the dashboard's
// own files: nothing comes from another origin.
func TestPageRefersOnlyToItsOwnFiles(t *testing.T) {
	refs := map[string]struct {
		re  *regexp.Regexp
		min int // references the page has at least
	}{
		"/":            {regexp.MustCompile(`(?:src|href)="([^"]*)"`), 4},
		"/ui/app.js":   {regexp.MustCompile(`from '([^']*)'`), 6},
		"/ui/procs.js": {regexp.MustCompile(`from '([^']*)'`), 1},
		"/ui/jobs.js":  {regexp.MustCompile(`from '([^']*)'`), 5},
		"/ui/graph.js": {regexp.MustCompile(`from '([^']*)'`), 1},
		"/ui/logs.js":  {regexp.MustCompile(`from '([^']*)'`), 3},
		"/ui/poll.js":  {regexp.MustCompile(`from '([^']*)'`), 1},
	}
	for page, r := range refs {
		body := string(files[page].body)
		matches := r.re.FindAllStringSubmatch(body, -1)
		if len(matches) < r.min {
			t.Fatalf("%s: found %d references; the pattern is stale", page, len(matches))
		}
		for _, m := range matches {
			ref := m[1]
			if strings.HasPrefix(ref, "#") {
				continue // a view of the page
			}
			var path string
			switch {
			case page == "/" && strings.HasPrefix(ref, "ui/"):
				path = "/" + ref
			case page != "/" && strings.HasPrefix(ref, "./"):
				path = Prefix + strings.TrimPrefix(ref, "./")
			default:
				t.Errorf("%s refers to %q, not to a file of its own", page, ref)
				continue
			}
			if files[path] == nil {
				t.Errorf("%s refers to %q, which is not served", page, ref)
			}
		}
	}
	// SVG's namespace, in markup or in createElementNS, is a name, not a load.
	names := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `'http://www.w3.org/2000/svg'`, "")
	for p, f := range files {
		for _, scheme := range []string{"https://", "http://"} {
			body := names.Replace(string(f.body))
			if strings.Contains(body, scheme) {
				t.Errorf("%s mentions %s", p, scheme)
			}
		}
	}
}

func TestOwns(t *testing.T) {
	for _, c := range []struct {
		method, target string
		owns           bool
	}{
		{"GET", "/", true},
		{"HEAD", "/", true},
		{"GET", "/?view=tasks", true},
		{"GET", "/ui/app.js", true},
		{"HEAD", "/ui/style.css", true},
		{"POST", "/", false},
		{"DELETE", "/ui/app.js", false},
		{"GET", "/ui/", false},
		{"GET", "/ui", false},
		{"GET", "/ui/nope.js", false},
		{"GET", "/ui/../tasks", false},
		{"GET", "/index.html", false},
		{"GET", "/static/index.html", false},
		{"GET", "/tasks", false},
		{"GET", "/nothing", false},
	} {
		if got := Owns(httptest.NewRequest(c.method, c.target, nil)); got != c.owns {
			t.Errorf("Owns(%s %s) = %v, want %v", c.method, c.target, got, c.owns)
		}
	}
}
