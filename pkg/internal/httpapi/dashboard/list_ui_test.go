package dashboard_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// tasksFetched is what the page has fetched of the task list so far,
// from the browser's resource timing: requests and body bytes.
const tasksFetched = `performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname === '/tasks')`

// With 500 stored tasks the list fetches its page of 50 once, then asks
// with the page's ETag and gets empty 304s until a task changes, when it
// fetches the page again: never the whole list.
func TestDashboardListFetchesOnlyItsPage(t *testing.T) {
	const stored = 500
	b := startBrowser(t)
	m := meshtest.Start(t, meshtest.Options{})
	var mod struct{ Module string }
	if code := call(t, "PUT", m.URL+"/modules", "", "application/wasm", wasm.HashC, &mod); code != 201 {
		t.Fatalf("PUT /modules: %d", code)
	}
	batch := func(from, to int) {
		t.Helper()
		var items []string
		for i := from; i <= to; i++ {
			items = append(items, fmt.Sprintf(`{"id": "t%03d", "module": %q, "start": 3600, "description": "task number %d"}`, i, mod.Module, i))
		}
		if code := call(t, "POST", m.URL+"/tasks/batch", "", "application/json", []byte("["+strings.Join(items, ",")+"]"), nil); code != 201 {
			t.Fatalf("batch: %d", code)
		}
	}
	batch(1, stored)
	size := func(path string) int {
		resp, err := http.Get(m.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return len(body)
	}
	page, whole := size("/tasks?limit=50"), size("/tasks?limit=1000")

	b.do("opening the dashboard", chromedp.Navigate(m.URL+"/"))
	b.waitFor("the newest 50 tasks", `document.querySelectorAll('#tasks tr').length === 50 &&
		document.querySelector('#tasks tr').dataset.id === 't500'`)
	if got := eval[string](b, `document.getElementById('task-count').textContent`); got != "the newest 50 tasks" {
		t.Errorf("count shown: %q", got)
	}
	b.waitFor("three more polls", tasksFetched+`.length >= 4`)
	bodies := eval[[]int](b, tasksFetched+`.map((e) => e.encodedBodySize)`)
	if bodies[0] != page {
		t.Errorf("the first fetch read %d bytes, want the page's %d", bodies[0], page)
	}
	for i, n := range bodies[1:] {
		if n != 0 {
			t.Errorf("poll %d of an unchanged list read %d bytes, want none (304)", i+1, n)
		}
	}

	batch(stored+1, stored+1)
	b.waitFor("the new task on top", `document.querySelector('#tasks tr').dataset.id === 't501' &&
		document.querySelectorAll('#tasks tr').length === 50`)
	total := eval[int](b, tasksFetched+`.reduce((n, e) => n + e.encodedBodySize, 0)`)
	if total > 2*page+page/10 || total >= whole/4 {
		t.Errorf("the list read %d bytes in all: want two pages (%d each), far from the whole list's %d", total, page, whole)
	}
	t.Logf("%d stored tasks: page %d B, whole list %d B; the list view read %d B in %d requests",
		stored+1, page, whole, total, eval[int](b, tasksFetched+`.length`))
	b.checkConsole(nil)
}
