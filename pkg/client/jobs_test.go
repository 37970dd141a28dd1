package client_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/wasm"
)

// A job through the client: named modules, submit, wait, the list, logs
// (all at once and followed, with their steps), files, cancel.
func TestJobs(t *testing.T) {
	c, m := MustGateway(t)
	m.AddWorker()
	ctx := testContext(t)

	mod, err := c.PutModule(ctx, wasm.Hello, "hello")
	if err != nil || mod.Name != "hello" || mod.Module != "sha256:"+mod.SHA256 {
		t.Fatalf("PutModule: %+v, %v", mod, err)
	}
	if _, err := c.PutModule(ctx, wasm.HashCCommand, ""); err != nil {
		t.Fatal(err)
	}
	names, err := c.ModuleNames(ctx)
	if err != nil || len(names) != 1 || names[0] != (api.ModuleName{Name: "hello", SHA256: mod.SHA256}) {
		t.Fatalf("ModuleNames: %+v, %v", names, err)
	}

	j, err := c.SubmitJob(ctx, api.JobRequest{ID: "j1", Name: "two", Steps: []api.StepRequest{
		{ID: "a", Module: "hello", Args: []string{"one"}},
		{ID: "b", Module: mod.Module, Args: []string{"two"}, Stdin: "in"},
	}})
	if err != nil || j.ID != "j1" || len(j.Steps) != 2 {
		t.Fatalf("SubmitJob: %+v, %v", j, err)
	}
	// A step's output may come in several chunks: each step's, joined.
	var entries []api.LogEntry
	end, err := c.FollowJobLogs(ctx, "j1", func(e api.LogEntry) error {
		entries = append(entries, e)
		return nil
	})
	got := byStep(entries)
	if want := []string{"a: hello one", "b: hello two\nin"}; err != nil || end.Status != api.Succeeded || !slices.Equal(got, want) {
		t.Fatalf("FollowJobLogs: %q, %+v, %v; want %q", got, end, err, want)
	}
	if j, err = c.WaitJob(ctx, "j1", 10*time.Second); err != nil || j.Status != api.Succeeded || j.Steps[1].Status != api.Succeeded {
		t.Fatalf("WaitJob: %+v, %v", j, err)
	}
	lv, err := c.JobLogs(ctx, "j1")
	if err != nil || !lv.Done || !slices.Equal(byStep(lv.Entries), []string{"a: hello one", "b: hello two\nin"}) {
		t.Fatalf("JobLogs: %+v, %v", lv, err)
	}
	if files, err := c.JobFiles(ctx, "j1"); err != nil || files == nil || len(files) != 0 {
		t.Errorf("JobFiles: %+v, %v; want none", files, err)
	}
	if _, err := c.JobFile(ctx, "j1", "out/none.txt"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("JobFile of no file: %v, want not found", err)
	}

	// A second job, for the pages of the list.
	if _, err := c.SubmitJob(ctx, api.JobRequest{ID: "j2", Steps: []api.StepRequest{{Module: mod.Module}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelJob(ctx, "j1"); !errors.Is(err, api.ErrConflict) {
		t.Errorf("CancelJob of an ended job: %v, want a conflict", err)
	}
	page, next, err := c.JobPage(ctx, api.TaskQuery{Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != "j2" || next == "" {
		t.Fatalf("JobPage: %+v %q %v", page, next, err)
	}
	page, next, err = c.JobPage(ctx, api.TaskQuery{Limit: 1, After: next})
	if err != nil || len(page) != 1 || page[0].ID != "j1" || next != "" {
		t.Fatalf("JobPage 2: %+v %q %v", page, next, err)
	}
	if _, err := c.Job(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("Job(nope): %v, want not found", err)
	}
	if _, err := c.Job(ctx, ""); err == nil {
		t.Error("Job(\"\") did not fail")
	}
}

// byStep joins a job's log entries by step, in the order the steps first
// wrote: "STEP: output".
func byStep(entries []api.LogEntry) []string {
	var order []string
	out := map[string]string{}
	for _, e := range entries {
		if _, ok := out[e.Step]; !ok {
			order = append(order, e.Step)
		}
		out[e.Step] += e.Data
	}
	got := make([]string, len(order))
	for i, st := range order {
		got[i] = st + ": " + strings.TrimSpace(out[st])
	}
	return got
}
