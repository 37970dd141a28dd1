package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// listIDs GETs a page of the task list and returns its IDs, joined, with
// the answer's headers.
func listIDs(tb testing.TB, url string) (string, http.Header) {
	tb.Helper()
	code, h, b := do(tb, "GET", url, "", nil)
	var ts []api.Task
	if err := json.Unmarshal(b, &ts); code != 200 || err != nil {
		tb.Fatalf("GET %s: %d %s", url, code, b)
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return strings.Join(ids, " "), h
}

var nextLink = regexp.MustCompile(`^<(/tasks\?[^>]*)>; rel="next"$`)

// walkList follows the Link headers from url to the last page and returns
// each page's IDs.
func walkList(tb testing.TB, base, url string) []string {
	tb.Helper()
	var pages []string
	for url != "" {
		ids, h := listIDs(tb, base+url)
		pages = append(pages, ids)
		url = ""
		if l := h.Get("Link"); l != "" {
			m := nextLink.FindStringSubmatch(l)
			if m == nil || !strings.Contains(m[1], "after="+h.Get(api.HeaderNextCursor)) {
				tb.Fatalf("Link %q with %s %q", l, api.HeaderNextCursor, h.Get(api.HeaderNextCursor))
			}
			url = m[1]
		}
	}
	return pages
}

// submitList submits tasks t1..tN in one batch, every third one scheduled
// an hour ahead and the others due now (queued: there are no workers).
func submitList(tb testing.TB, url string, n int) {
	tb.Helper()
	mod := putModule(tb, url, hash.file)
	var items []string
	for i := 1; i <= n; i++ {
		start := 0
		if i%3 == 0 {
			start = 3600
		}
		items = append(items, fmt.Sprintf(`{"id": "t%d", "module": %q, "start": %d, "repeats": %d}`, i, mod, start, i))
	}
	if code, _, b := do(tb, "POST", url+"/tasks/batch", "application/json", []byte("["+strings.Join(items, ",")+"]")); code != 201 {
		tb.Fatalf("batch: %d %s", code, b)
	}
}

func TestTaskListPages(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	submitList(t, m.URL, 7)
	for _, c := range []struct {
		name, url string
		want      []string
	}{
		{"all, newest first", "/tasks", []string{"t7 t6 t5 t4 t3 t2 t1"}},
		{"pages of 3", "/tasks?limit=3", []string{"t7 t6 t5", "t4 t3 t2", "t1"}},
		{"creation order", "/tasks?limit=3&order=asc", []string{"t1 t2 t3", "t4 t5 t6", "t7"}},
		{"one status", "/tasks?status=scheduled&limit=1", []string{"t6", "t3", ""}},
		{"statuses repeated", "/tasks?status=scheduled&status=queued&limit=4", []string{"t7 t6 t5 t4", "t3 t2 t1"}},
		{"statuses comma-separated", "/tasks?status=scheduled,succeeded&order=asc", []string{"t3 t6"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := walkList(t, m.URL, c.url); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("pages %q, want %q", got, c.want)
			}
		})
	}
	for _, c := range []struct{ query, field string }{
		{"limit=0", api.ParamLimit}, {"limit=1001", api.ParamLimit}, {"limit=x", api.ParamLimit},
		{"order=up", api.ParamOrder}, {"status=done", api.ParamStatus}, {"after=***", api.ParamAfter},
		{"after=AA", api.ParamAfter}, {"runs=-1", api.ParamRuns},
	} {
		code, _, b := do(t, "GET", m.URL+"/tasks?"+c.query, "", nil)
		var e api.Error
		if json.Unmarshal(b, &e); code != 400 || e.Field != c.field || e.Code != api.CodeInvalid {
			t.Errorf("?%s: %d %s, want 400 naming %s", c.query, code, b, c.field)
		}
	}
	// ?runs=N: the latest N runs of each task; the total is repeats.
	_, _, b := do(t, "GET", m.URL+"/tasks?runs=2&limit=1", "", nil)
	var ts []api.Task
	if err := json.Unmarshal(b, &ts); err != nil || len(ts) != 1 || ts[0].Repeats != 7 || len(ts[0].Runs) != 2 || ts[0].Runs[0].Index != 5 {
		t.Errorf("?runs=2&limit=1: %s", b)
	}
}

// An unchanged list answers 304 to its ETag; a change gives a new one.
func TestTaskListRevision(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	submitList(t, m.URL, 2)
	_, h := listIDs(t, m.URL+"/tasks?limit=1")
	tag, rev := h.Get("ETag"), h.Get(api.HeaderRevision)
	if !strings.HasPrefix(tag, `"`+rev+`-`) || rev == "" {
		t.Fatalf("ETag %q, %s %q", tag, api.HeaderRevision, rev)
	}
	if _, h, _ := do(t, "GET", m.URL+"/info", "", nil); h.Get(api.HeaderRevision) != rev {
		t.Errorf("/info revision %q, want %q", h.Get(api.HeaderRevision), rev)
	}
	ifNoneMatch := func(query string) (int, []byte) {
		req, _ := http.NewRequest("GET", m.URL+"/tasks?"+query, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Header.Get("ETag"))
		return resp.StatusCode, []byte(b.String())
	}
	if code, etag := ifNoneMatch("limit=1"); code != http.StatusNotModified || string(etag) != tag {
		t.Errorf("unchanged: %d ETag %s, want 304 %s", code, etag, tag)
	}
	if code, etag := ifNoneMatch("limit=2"); code != http.StatusOK || string(etag) == tag {
		t.Errorf("another page with the first page's ETag: %d ETag %s, want 200 and another ETag", code, etag)
	}
	if code, _, b := do(t, "DELETE", m.URL+"/tasks/t1", "", nil); code != 200 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	if code, etag := ifNoneMatch("limit=1"); code != http.StatusOK || string(etag) == tag {
		t.Errorf("after a cancel: %d ETag %s, want 200 with a new ETag", code, etag)
	}
}

// GET /tasks/{id}?runs=N has the latest N runs, and the total in a header.
func TestTaskRuns(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	submitList(t, m.URL, 5)
	for _, c := range []struct {
		query       string
		runs, first int
	}{{"", 5, 0}, {"?runs=2", 2, 3}, {"?runs=0", 0, -1}, {"?runs=9", 5, 0}, {"?runs=2&wait=0.01", 2, 3}} {
		code, h, b := do(t, "GET", m.URL+"/tasks/t5"+c.query, "", nil)
		var v api.Task
		if err := json.Unmarshal(b, &v); code != 200 || err != nil || len(v.Runs) != c.runs || v.Runs == nil ||
			(c.first >= 0 && v.Runs[0].Index != c.first) || h.Get(api.HeaderRunsTotal) != "5" || v.Repeats != 5 {
			t.Errorf("%s: %d %s %s; want %d runs from %d", c.query, code, h.Get(api.HeaderRunsTotal), b, c.runs, c.first)
		}
	}
}
