package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, want, err string
	}{
		{url: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{url: "https://gw.example:443/shoal/", want: "https://gw.example:443/shoal"},
		{url: "127.0.0.1:8080", err: "must start with http:// or https://"},
		{url: "localhost:8080", err: "must start with http:// or https://"},
		{url: "ftp://host", err: "must start with http:// or https://"},
		{url: "http://", err: "has no host"},
		{url: "http:///tasks", err: "has no host"},
		{url: "http://h:1/?x=1", err: "without user, query or fragment"},
		{url: "http://h :1", err: "gateway URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := client.New(tc.url, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New(%q) = %v, want an error containing %q", tc.url, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.URL() != tc.want {
				t.Errorf("URL() = %q, want %q", c.URL(), tc.want)
			}
		})
	}
}

func TestSubmitSendsEveryField(t *testing.T) {
	c, _ := MustGateway(t)
	ctx := testContext(t)
	s := client.Submission{
		ID: "task1", Description: "Hash puzzle", Complete: 2,
		Duration: 5 * time.Second, Start: time.Hour, Delay: 1500 * time.Millisecond, Repeats: 3,
		Wasm: wasm.HashC, Input: ptr[int64](0), Difficulty: ptr[int64](3),
		Args: []string{"a b", `"q"`}, Env: []string{"K=V", "E="}, Stdin: []byte("in"),
		Memory: 64 << 20, Cores: 250, Retries: ptr(0), Priority: 7, Labels: []string{"gpu", "eu"}, Dirs: []string{"data"},
	}
	got, err := c.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := api.Task{
		ID: "task1", Description: "Hash puzzle", Status: task.Scheduled, Completions: 2,
		Duration: 5, Start: 3600, Delay: 1.5, Repeats: 3, Input: ptr[int64](0), Difficulty: ptr[int64](3),
		Args: s.Args, Env: s.Env, Memory: 64 << 20, Cores: 0.25, Retries: 0, Priority: 7,
		Labels: []string{"gpu", "eu", "dir:data"}, Dirs: s.Dirs,
	}
	check := func(name string, got api.Task) {
		t.Helper()
		if got.ID != want.ID || got.Description != want.Description || got.Status != want.Status ||
			got.Completions != want.Completions || got.Duration != want.Duration || got.Start != want.Start ||
			got.Delay != want.Delay || got.Repeats != want.Repeats || *got.Input != *want.Input ||
			*got.Difficulty != *want.Difficulty || !slices.Equal(got.Args, want.Args) ||
			!slices.Equal(got.Env, want.Env) || got.Memory != want.Memory || got.Cores != want.Cores || got.Retries != want.Retries ||
			got.Priority != want.Priority || !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Dirs, want.Dirs) ||
			len(got.Runs) != 3 || len(got.Module) != 64 || got.Created.IsZero() {
			t.Errorf("%s = %+v\nwant %+v", name, got, want)
		}
	}
	check("Submit", got)
	got, err = c.Task(ctx, "task1")
	if err != nil {
		t.Fatal(err)
	}
	check("Task", got)
}

func TestSubmitSendsOnlyWhatIsSet(t *testing.T) {
	c, _ := MustGateway(t)
	got, err := c.Submit(testContext(t), client.Submission{Wasm: wasm.HashC})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's defaults: a generated id, one run due now, the default
	// time limit and retries, no input, difficulty or args.
	if !strings.HasPrefix(got.ID, "t-") || got.Repeats != 1 || got.Start != 0 || got.Duration != 60 ||
		got.Retries != 2 || got.Input != nil || got.Difficulty != nil || got.Args != nil {
		t.Errorf("Submit with defaults = %+v", got)
	}
}

func TestTasksCancel(t *testing.T) {
	c, _ := MustGateway(t)
	ctx := testContext(t)
	tasks, err := c.Tasks(ctx)
	if err != nil || len(tasks) != 0 {
		t.Fatalf("Tasks() on a new gateway = %v, %v; want none", tasks, err)
	}
	ids := []string{"c", "a", "b"}
	for _, id := range ids {
		if _, err := c.Submit(ctx, client.Submission{ID: id, Wasm: wasm.HashC}); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err = c.Tasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tv := range tasks {
		got = append(got, tv.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("Tasks() = %v, want creation order %v", got, ids)
	}

	// The same, a page of one at a time, newest first.
	var pages []string
	q := api.TaskQuery{Limit: 1}
	for {
		page, next, err := c.TaskPage(ctx, q)
		if err != nil || len(page) != 1 {
			t.Fatalf("TaskPage(%+v) = %v, %v", q, page, err)
		}
		pages = append(pages, page[0].ID)
		if next == "" {
			break
		}
		q.After = next
	}
	if want := []string{"b", "a", "c"}; !slices.Equal(pages, want) {
		t.Errorf("pages of one: %v, want %v", pages, want)
	}
	if _, _, err := c.TaskPage(ctx, api.TaskQuery{Limit: api.MaxTaskLimit + 1}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a limit over the maximum: %v, want an invalid-request error", err)
	}

	tv, err := c.Cancel(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if tv.Status != task.Canceled || tv.Runs[0].Status != task.Canceled {
		t.Errorf("Cancel(a) = %+v, want canceled", tv)
	}
	if tv, err = c.Task(ctx, "a"); err != nil || tv.Status != task.Canceled {
		t.Errorf("Task(a) after cancel = %v, %v", tv.Status, err)
	}
	_, err = c.Cancel(ctx, "a")
	mustAPIError(t, err, http.StatusConflict, "", "already ended")
}

func TestErrors(t *testing.T) {
	c, _ := MustGateway(t)
	ctx := testContext(t)
	if _, err := c.Submit(ctx, client.Submission{ID: "dup", Wasm: wasm.HashC}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		s      client.Submission
		status int
		field  string
		msg    string
	}{
		{"duplicate id", client.Submission{ID: "dup", Wasm: wasm.HashC}, http.StatusConflict, "id", "choose another id"},
		{"negative count", client.Submission{Wasm: wasm.HashC, Complete: -1}, http.StatusBadRequest, "complete", "negative"},
		{"zero-or-less repeats", client.Submission{Wasm: wasm.HashC, Repeats: -2}, http.StatusBadRequest, "repeats", "between 1 and"},
		{"priority out of range", client.Submission{Wasm: wasm.HashC, Priority: 5000}, http.StatusBadRequest, "priority", "between"},
		{"bad id", client.Submission{ID: "a/b", Wasm: wasm.HashC}, http.StatusBadRequest, "id", "letters, digits"},
		{"bad env", client.Submission{Wasm: wasm.HashC, Env: []string{"NOEQUALS"}}, http.StatusBadRequest, "env", "not K=V"},
		{"no module", client.Submission{ID: "x"}, http.StatusBadRequest, "wasm", "module is required"},
		{"not wasm", client.Submission{Wasm: []byte("hello")}, http.StatusBadRequest, "wasm", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Submit(ctx, tc.s)
			mustAPIError(t, err, tc.status, tc.field, tc.msg)
		})
	}
	t.Run("unknown task", func(t *testing.T) {
		_, err := c.Task(ctx, "nope")
		mustAPIError(t, err, http.StatusNotFound, "", "not found")
		_, err = c.Cancel(ctx, "nope")
		mustAPIError(t, err, http.StatusNotFound, "", "not found")
		_, err = c.Logs(ctx, "nope")
		mustAPIError(t, err, http.StatusNotFound, "", "not found")
		_, err = c.Follow(ctx, "nope", func(task.LogEntry) error { return nil })
		mustAPIError(t, err, http.StatusNotFound, "", "not found")
	})
	t.Run("empty id", func(t *testing.T) {
		if _, err := c.Task(ctx, ""); err == nil {
			t.Error("Task(\"\") succeeded")
		}
	})
}

func mustAPIError(tb testing.TB, err error, status int, field, msg string) {
	tb.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("err = %v (%T), want an *APIError", err, err)
	}
	if ae.Status != status || ae.Field != field || !strings.Contains(ae.Message, msg) {
		tb.Errorf("err = %+v, want status %d, field %q, message containing %q", ae, status, field, msg)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Tasks(testContext(t))
	if !errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("Tasks() on a closed port = %v, want ErrUnreachable", err)
	}
	for _, want := range []string{url, "connection refused", "`shoal gateway`", "--gateway"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"not a gateway", http.StatusTeapot, "short and stout\n", "418 I'm a teapot: short and stout"},
		{"gateway failure", http.StatusInternalServerError, `{"error":"internal error"}`, "the gateway failed (HTTP 500): internal error; its log says why"},
		{"disk full", http.StatusInsufficientStorage, `{"error":"the gateway's disk is full: nothing was stored","code":"no_space"}`, "the gateway's disk is full: nothing was stored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c, err := client.New(srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Tasks(testContext(t))
			mustAPIError(t, err, tc.status, "", "")
			if err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if code := api.CodeOf(tc.status); !errors.Is(err, &api.Error{Code: code}) {
				t.Errorf("errors.Is(%v, the %s error) is false", err, code)
			}
		})
	}
}

func TestLogsAndWorkersWithoutWorkers(t *testing.T) {
	c, h := MustGateway(t)
	ctx := testContext(t)
	if _, err := c.Submit(ctx, client.Submission{ID: "q", Wasm: wasm.HashC}); err != nil {
		t.Fatal(err)
	}
	lv, err := c.Logs(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if lv.Task != "q" || lv.Done || len(lv.Entries) != 0 {
		t.Errorf("Logs(q) = %+v, want no entries, not done", lv)
	}
	ws, err := c.Workers(ctx)
	if err != nil || len(ws) != 0 {
		t.Errorf("Workers() = %v, %v; want none", ws, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.PeerID != h.Host.ID().String() || len(info.Addrs) == 0 {
		t.Errorf("Info() = %+v, want peer %s", info, h.Host.ID())
	}
}

func TestFollowEndsWhenCanceled(t *testing.T) {
	c, _ := MustGateway(t)
	ctx := testContext(t)
	if _, err := c.Submit(ctx, client.Submission{ID: "f", Wasm: wasm.HashC}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var end api.Task
	var ferr error
	go func() {
		defer wg.Done()
		end, ferr = c.Follow(ctx, "f", func(e task.LogEntry) error {
			t.Errorf("unexpected log entry %+v", e)
			return nil
		})
	}()
	// Whether the follow starts before or after the cancel, it ends with
	// the canceled task.
	if _, err := c.Cancel(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if ferr != nil {
		t.Fatal(ferr)
	}
	if end.ID != "f" || end.Status != task.Canceled {
		t.Errorf("Follow ended with %+v, want f canceled", end)
	}
}

func TestFollowStopsWithContext(t *testing.T) {
	c, _ := MustGateway(t)
	ctx := testContext(t)
	if _, err := c.Submit(ctx, client.Submission{ID: "s", Wasm: wasm.HashC}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := c.Follow(short, "s", func(task.LogEntry) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Follow past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestFollowWithWorker(t *testing.T) {
	c, m := MustGateway(t)
	m.AddWorker()
	ctx := testContext(t)
	if _, err := c.Submit(ctx, client.Submission{ID: "cmd", Wasm: wasm.HashCCommand, Input: ptr[int64](0), Difficulty: ptr[int64](3), Repeats: 2}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	end, err := c.Follow(ctx, "cmd", func(e task.LogEntry) error {
		if e.Stream == "stdout" {
			out.WriteString(e.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != task.Succeeded || end.Completions != 2 || end.Result != "2832\n" {
		t.Errorf("Follow ended with %+v, want succeeded with 2 completions, result 2832", end)
	}
	if out.String() != "2832\n2832\n" {
		t.Errorf("followed stdout %q, want 2832 twice", out.String())
	}
	ws, err := c.Workers(ctx)
	if err != nil || len(ws) != 1 || ws[0].Slots != 1 {
		t.Errorf("Workers() = %+v, %v; want one worker with 1 slot", ws, err)
	}

	// fn's error stops the follow and comes back.
	stop := errors.New("stop")
	if _, err := c.Follow(ctx, "cmd", func(task.LogEntry) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Follow with a failing fn = %v, want %v", err, stop)
	}
}
