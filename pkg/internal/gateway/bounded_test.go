package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// heap is the live heap after a collection, in bytes.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The gateway's memory does not grow with what its tasks hold: 24 tasks
// of 512 KiB of stdin and 512 KiB of result each (24 MiB in the store)
// leave the heap within a ceiling of 6 MiB, as does loading them after a
// restart: results live in the store, and an ended task keeps a summary.
func TestMemoryIsFlatInWhatTasksHold(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 24 MiB")
	}
	m := meshtest.Start(t, meshtest.Options{Workers: 2})
	c := newClient(t, m.URL)
	ctx := context.Background()
	const size = 512 << 10
	big := strings.Repeat("x", size-len("hello\n"))
	run := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if _, err := c.Submit(ctx, client.Submission{ID: fmt.Sprint(prefix, i), Wasm: wasm.Hello, Stdin: []byte(big)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			if v := waitDone(t, m.URL, fmt.Sprint(prefix, i)); v.Status != task.Succeeded || len(v.Result) != size {
				t.Fatalf("%s%d: %s with %d bytes of result", prefix, i, v.Status, len(v.Result))
			}
		}
	}
	run("warm", 2) // compiles, connections, buffers: the baseline has them
	before := heap()
	const n = 24
	run("t", n)
	after := heap()
	const ceiling = 6 << 20
	t.Logf("heap %d KiB before, %d KiB after %d tasks of 1 MiB", before>>10, after>>10, n)
	if after > before+ceiling {
		t.Errorf("heap grew by %d KiB for %d tasks; the ceiling is %d KiB (what they hold would be %d KiB)", (after-before)>>10, n, ceiling>>10, n*2*size>>10)
	}
	m.RestartGateway()
	restored := heap()
	t.Logf("heap %d KiB after a restart that loaded them", restored>>10)
	if restored > before+ceiling {
		t.Errorf("after a restart the heap grew by %d KiB; the ceiling is %d KiB", (restored-before)>>10, ceiling>>10)
	}
	if v := getTask(t, m.URL, "t7"); len(v.Result) != size || v.Runs[0].Result != v.Result {
		t.Fatalf("after the restart t7's result has %d bytes, want it whole from the store", len(v.Result))
	}
}

// A task of 999,999 repeats is one record and one run in memory until its
// runs come: the store gains no run records, the view shows the latest
// runs to come, cancel ends them all, and purge deletes the task.
func TestManyRepeatsCostOneRun(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{}) // no workers: nothing runs
	c := newClient(t, m.URL)
	ctx := context.Background()
	before := heap()
	tv, err := c.Submit(ctx, client.Submission{ID: "many", Wasm: wasm.Hello, Repeats: 999_999})
	if err != nil {
		t.Fatal(err)
	}
	if grown := int64(heap()) - int64(before); grown > 4<<20 {
		t.Errorf("a task of 999,999 repeats took %d KiB of heap", grown>>10)
	}
	if tv.Repeats != 999_999 || len(tv.Runs) != api.DefaultRuns || tv.Runs[len(tv.Runs)-1].Index != 999_998 || tv.Status != task.Queued {
		t.Fatalf("answer: %d repeats, %d runs shown, last %d, %s", tv.Repeats, len(tv.Runs), tv.Runs[len(tv.Runs)-1].Index, tv.Status)
	}
	if st := storeStats(t, m); st.Runs != 0 || st.Tasks != 1 {
		t.Fatalf("store holds %d tasks and %d run records, want 1 and 0", st.Tasks, st.Runs)
	}
	resp, err := http.Get(m.URL + "/tasks/many?runs=3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(api.HeaderRunsTotal) != "999999" {
		t.Fatalf("%s: %q", api.HeaderRunsTotal, resp.Header.Get(api.HeaderRunsTotal))
	}
	tv, err = c.Cancel(ctx, "many")
	if err != nil || tv.Status != task.Canceled || tv.Runs[0].Status != task.Canceled || tv.Runs[len(tv.Runs)-1].Status != task.Canceled {
		t.Fatalf("cancel: %v %s", err, tv.Status)
	}
	if err := c.Purge(ctx, "many"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Task(ctx, "many"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("after purge: %v, want not found", err)
	}
	if st := storeStats(t, m); st.Tasks != 0 {
		t.Fatalf("the store still holds %d tasks", st.Tasks)
	}
}

// storeStats reads the counts of the gateway's store.
func storeStats(tb testing.TB, m *meshtest.Mesh) store.Stats {
	tb.Helper()
	return m.Gateway.StoreStats()
}

// A task keeps whole the results of its newest runs; older runs keep
// their size, and the task's result is its last success's.
func TestOlderResultsKeepTheirSize(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Store: store.Options{KeepResults: 2}})
	c := newClient(t, m.URL)
	ctx := context.Background()
	if _, err := c.Submit(ctx, client.Submission{ID: "r", Wasm: wasm.Hello, Repeats: 5, Stdin: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
	v := waitDone(t, m.URL, "r")
	if v.Status != task.Succeeded || v.Result != "hello\nabc" {
		t.Fatalf("task %s, result %q", v.Status, v.Result)
	}
	for _, r := range v.Runs {
		switch {
		case r.Index < 3 && (r.Result != "" || r.ResultBytes != len("hello\nabc")):
			t.Errorf("run %d: result %q, %d bytes; want none kept, 9 bytes", r.Index, r.Result, r.ResultBytes)
		case r.Index >= 3 && (r.Result != "hello\nabc" || r.ResultBytes != 0):
			t.Errorf("run %d: result %q (%d bytes); want it whole", r.Index, r.Result, r.ResultBytes)
		}
	}
}

// DELETE ?purge=1 deletes an ended task and frees its owner's quota of
// stored bytes; a task over the quota is refused with 429.
func TestPurgeFreesTheStoredQuota(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Quotas = map[string]gateway.Quota{"": {MaxStored: 3 << 20}}
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Gateway: &cfg})
	c := newClient(t, m.URL)
	ctx := context.Background()
	big := []byte(strings.Repeat("y", 1<<20))
	var ids []string
	for i := 0; ; i++ {
		_, err := c.Submit(ctx, client.Submission{ID: "q" + strconv.Itoa(i), Wasm: wasm.Hello, Stdin: big})
		if errors.Is(err, api.ErrTooMany) {
			if !strings.Contains(err.Error(), "max-stored") {
				t.Fatalf("refused without saying why: %v", err)
			}
			break
		}
		if err != nil || i > 4 {
			t.Fatalf("submit %d: %v (the quota is 3 MiB, each task stores 2)", i, err)
		}
		ids = append(ids, "q"+strconv.Itoa(i))
		waitDone(t, m.URL, ids[len(ids)-1])
	}
	for _, id := range ids {
		if err := c.Purge(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Submit(ctx, client.Submission{ID: "again", Wasm: wasm.Hello, Stdin: big}); err != nil {
		t.Fatalf("after purging: %v", err)
	}
	if resp, err := http.NewRequest(http.MethodDelete, m.URL+"/tasks/again?purge=maybe", nil); err == nil {
		r, err := http.DefaultClient.Do(resp)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("purge=maybe: %d, want 400", r.StatusCode)
		}
	}
}

// Tasks that ended longer than Retain ago are deleted by the retention
// pass, which runs when the gateway starts and every minute after.
func TestRetentionPurgesEndedTasks(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Retain = time.Millisecond
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Gateway: &cfg})
	c := newClient(t, m.URL)
	ctx := context.Background()
	if _, err := c.Submit(ctx, client.Submission{ID: "old", Wasm: wasm.Hello}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, m.URL, "old")
	if _, err := c.Submit(ctx, client.Submission{ID: "later", Wasm: wasm.Hello, Start: time.Hour}); err != nil {
		t.Fatal(err)
	}
	m.RestartGateway()
	if _, err := c.Task(ctx, "old"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("an ended task past retention: %v, want not found", err)
	}
	if v, err := c.Task(ctx, "later"); err != nil || v.Status != task.Scheduled {
		t.Fatalf("a task not ended must stay: %v %+v", err, v.Status)
	}
}

func newClient(tb testing.TB, url string) *client.Client {
	tb.Helper()
	c, err := client.New(url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
