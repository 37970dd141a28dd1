package meshtest_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkReads is issue 10's reads that scale: the latency of one page
// of the task list (GET /tasks?limit=50) with 200 and with 20,000 stored
// tasks, next to the whole list (every page of GET /tasks, which before
// paging was one answer), and the process's CPU time over pollWindow while
// a dashboard-like poller is open on 20,000 tasks and one task a second
// arrives: the page poller (what the dashboard does now) next to the
// whole-list poller (what it did), in the same run.
func BenchmarkReads(b *testing.B) {
	for range b.N {
		fmt.Printf("\nreads that scale (issue 10): GET /tasks, no workers, tasks scheduled an hour ahead, 2 cores\n")
		var m *meshtest.Mesh
		var mod string
		for _, n := range []int{200, 20_000} {
			m = meshtest.Start(b, meshtest.Options{})
			mod = putModule(b, m, wasm.HashC)
			submitScheduled(b, m, mod, "r", n)
			page, pageBytes := medianGet(b, m.URL+"/tasks?limit=50", 50)
			all, allBytes := medianWalk(b, m.URL+"/tasks?limit=1000&order=asc", 5)
			fmt.Printf("  %6d tasks: GET /tasks?limit=50 p50 %8.2f ms (%8d B)   whole list (baseline) p50 %8.2f ms (%9d B)   ratio %.3f\n",
				n, ms(page), pageBytes, ms(all), allBytes, ms(page)/ms(all))
			b.ReportMetric(ms(page), fmt.Sprintf("page-ms-%d", n))
			if n != 20_000 {
				m.Close()
			}
		}
		pageCPU, pageReqs, pageBytes := pollCPU(b, m, mod, "pp", pagePoller(m.URL+"/tasks?limit=50"))
		allCPU, allReqs, allBytes := pollCPU(b, m, mod, "ap", walkPoller(m.URL+"/tasks?limit=1000&order=asc"))
		m.Close()
		fmt.Printf("  dashboard poller on 20,000 tasks, one new task a second, process CPU over %v:\n", pollWindow)
		fmt.Printf("    page poller (revision, then the newest 50)  %7.0f ms CPU  %4d requests  %10d B read\n", ms(pageCPU), pageReqs, pageBytes)
		fmt.Printf("    whole-list poller (baseline)                %7.0f ms CPU  %4d requests  %10d B read   ratio %.3f\n\n",
			ms(allCPU), allReqs, allBytes, ms(pageCPU)/ms(allCPU))
		b.ReportMetric(ms(pageCPU), "poll-cpu-ms")
	}
}

// pollWindow is how long each poller runs.
const pollWindow = 30 * time.Second

// submitScheduled stores n tasks prefix1..prefixN due in an hour, in
// batches, so that nothing runs and the list is all there is.
func submitScheduled(tb testing.TB, m *meshtest.Mesh, mod, prefix string, n int) {
	const per = 5000
	for from := 1; from <= n; from += per {
		var body strings.Builder
		fmt.Fprintf(&body, `{"defaults": {"module": "sha256:%s", "difficulty": 1, "start": 3600}, "tasks": [`, mod)
		for i := from; i < from+per && i <= n; i++ {
			if i > from {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"id": "%s%d", "input": %d, "description": "task %d of the list"}`, prefix, i, i, i)
		}
		body.WriteString("]}")
		postBatch(tb, m, body.String())
	}
}

// get sends GET url (with If-None-Match etag when etag is set) and reads
// the whole answer; it returns the status, the bytes read and the headers.
func get(tb testing.TB, url, etag string) (int, int, http.Header) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		tb.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return resp.StatusCode, int(n), resp.Header
}

var nextLink = regexp.MustCompile(`<([^>]*)>;\s*rel="next"`)

// walk reads every page from url on, following the Link header's next
// page; it returns the requests and bytes read.
func walk(tb testing.TB, base, url string) (int, int) {
	reqs, total := 0, 0
	for url != "" {
		_, n, h := get(tb, url, "")
		reqs++
		total += n
		url = ""
		if l := nextLink.FindStringSubmatch(h.Get("Link")); l != nil {
			url = base + l[1]
		}
	}
	return reqs, total
}

// medianGet is the median latency of n GETs of url, and the size of one.
func medianGet(tb testing.TB, url string, n int) (time.Duration, int) {
	ds := make([]time.Duration, n)
	size := 0
	for i := range ds {
		start := time.Now()
		_, size, _ = get(tb, url, "")
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], size
}

// medianWalk is the median latency of n walks of every page from url.
func medianWalk(tb testing.TB, url string, n int) (time.Duration, int) {
	base := url[:strings.Index(url, "/tasks")]
	ds := make([]time.Duration, n)
	size := 0
	for i := range ds {
		start := time.Now()
		_, size = walk(tb, base, url)
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], size
}

// A poller makes one poll: the requests it sent and the bytes it read.
type poller func(tb testing.TB) (reqs, bytes int)

// pagePoller polls as the dashboard's task list does: its page, sent with
// the ETag of the last answer, so an unchanged list costs a 304.
func pagePoller(url string) poller {
	etag := ""
	return func(tb testing.TB) (int, int) {
		code, n, h := get(tb, url, etag)
		if code == http.StatusOK {
			etag = h.Get("ETag")
		}
		return 1, n
	}
}

// walkPoller polls every task, as the dashboard did before paging.
func walkPoller(url string) poller {
	base := url[:strings.Index(url, "/tasks")]
	return func(tb testing.TB) (int, int) { return walk(tb, base, url) }
}

// pollCPU runs poll for pollWindow as the dashboard's poller runs (every
// second, or five times as long as the poll took), while one task a
// second is submitted, and returns the process's CPU time, the requests
// and the bytes read.
func pollCPU(tb testing.TB, m *meshtest.Mesh, mod, prefix string, poll poller) (time.Duration, int, int) {
	cpu0, start := cpuTime(tb), time.Now()
	reqs, bytes, next, submitted := 0, 0, start, 0
	for time.Since(start) < pollWindow {
		if time.Since(start) >= time.Duration(submitted)*time.Second {
			submitted++
			post(tb, m, mod, fmt.Sprint(prefix, submitted), int64(submitted), 1)
		}
		if now := time.Now(); !now.Before(next) {
			r, n := poll(tb)
			reqs, bytes = reqs+r, bytes+n
			next = now.Add(max(time.Second, 5*time.Since(now)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cpuTime(tb) - cpu0, reqs, bytes
}
