package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func ptr[T any](v T) *T { return &v }

func TestCreateTaskRoundTrip(t *testing.T) {
	full := task.Spec{
		ID: "full", Description: "Hash puzzle ✓", Complete: 4, Duration: 5 * time.Second,
		Start: time.Second, Delay: 2 * time.Second, Repeats: 3, Module: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Input: ptr(int64(0)), Difficulty: ptr(int64(-3)), Args: []string{"a", "", "c d"}, Env: []string{"K=V", "E="},
		Stdin: []byte{0, 1, 0xff, '\n'}, Memory: 64 << 20, Retries: ptr(0), Priority: -2, Labels: []string{"gpu", "eu"},
	}
	for _, tc := range []struct {
		name string
		spec task.Spec
	}{
		{"minimal", task.Spec{ID: "min", Module: full.Module}},
		{"full", full},
		{"empty not nil", task.Spec{ID: "empty", Module: full.Module, Args: []string{}, Env: []string{}, Stdin: []byte{}, Labels: []string{}}},
		{"nil pointers", task.Spec{ID: "nils", Module: full.Module, Input: nil, Difficulty: ptr(int64(7)), Retries: nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := MustOpen(t)
			want := task.New(tc.spec, time.Now()).Clone()
			MustCreate(t, s, want)
			got := MustTask(t, s, tc.spec.ID)
			if !reflect.DeepEqual(Normalize(got), Normalize(want)) {
				t.Fatalf("Task:\n got %+v\nwant %+v", got, want)
			}
			if !got.Created.Equal(want.Created) {
				t.Errorf("created %v, want %v", got.Created, want.Created)
			}
			s = MustReopen(t, s, path)
			all := LoadAll(t, s)
			if len(all) != 1 || !reflect.DeepEqual(Normalize(all[0]), Normalize(want)) {
				t.Fatalf("LoadTasks after reopen:\n got %+v\nwant %+v", all, want)
			}
			g := all[0].Spec
			if (g.Args == nil) != (tc.spec.Args == nil) || (g.Stdin == nil) != (tc.spec.Stdin == nil) || (g.Labels == nil) != (tc.spec.Labels == nil) {
				t.Errorf("nil and empty slices not kept: args %#v stdin %#v labels %#v", g.Args, g.Stdin, g.Labels)
			}
		})
	}
}

// TestRunEveryField fills every field of a Run (found by reflection, so a
// field added to task.Run later is covered) and reads it back.
func TestRunEveryField(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("r", 3))
	var r task.Run
	n := 0
	fill(reflect.ValueOf(&r).Elem(), &n)
	r.Index = 2
	if err := s.SaveRuns("r", r); err != nil {
		t.Fatal(err)
	}
	s = MustReopen(t, s, path)
	got := Normalize(MustTask(t, s, "r")).Runs[2]
	want := Normalize(task.Task{Runs: []task.Run{r}}).Runs[0]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("run:\n got %+v\nwant %+v", got, want)
	}
	for _, st := range []task.Status{"", "paused-someday"} {
		r.Status = st
		if err := s.SaveRuns("r", r); err != nil {
			t.Fatal(err)
		}
		if got := MustTask(t, s, "r").Runs[2].Status; got != st {
			t.Errorf("status %q read back as %q", st, got)
		}
	}
}

// TestSpecEveryField is TestRunEveryField for Spec.
func TestSpecEveryField(t *testing.T) {
	s, path := MustOpen(t)
	var spec task.Spec
	n := 0
	fill(reflect.ValueOf(&spec).Elem(), &n)
	spec.ID, spec.Repeats = "every", 2
	want := task.New(spec, epoch).Clone()
	MustCreate(t, s, want)
	s = MustReopen(t, s, path)
	if got := MustTask(t, s, "every"); !reflect.DeepEqual(got.Spec, spec) {
		t.Fatalf("spec:\n got %+v\nwant %+v", got.Spec, spec)
	}
}

// fill sets every field of v to a distinct non-zero value.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-ü", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(epoch.Add(time.Duration(*n)*time.Hour + 123456789)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	default:
		panic("fill: add a case for " + v.Type().String())
	}
}

func TestCreateTaskDuplicate(t *testing.T) {
	s, _ := MustOpen(t)
	MustCreate(t, s, NewTask("dup", 1))
	err := s.CreateTask(NewTask("dup", 5))
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if got := MustTask(t, s, "dup"); len(got.Runs) != 1 {
		t.Errorf("the duplicate changed the task: %d runs", len(got.Runs))
	}
	if err := s.CreateTask(NewTask("", 1)); err == nil {
		t.Error("a task without id was stored")
	}
}

// TestCreateTasksAllOrNothing stores a batch in one transaction: all of it
// survives a reopen, and a batch with a taken or repeated id stores none.
func TestCreateTasksAllOrNothing(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("taken", 1))
	batch := make([]task.Task, 500)
	for i := range batch {
		batch[i] = NewTask(fmt.Sprintf("b%03d", i), 1+i%3)
	}
	if err := s.CreateTasks(batch); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name string
		ids  []string
		want string
	}{
		{"taken before", []string{"n1", "taken", "n2"}, "taken"},
		{"twice in the batch", []string{"n1", "n2", "n1"}, "n1"},
		{"taken by the first batch", []string{"n1", "b250"}, "b250"},
	} {
		ts := make([]task.Task, len(bad.ids))
		for i, id := range bad.ids {
			ts[i] = NewTask(id, 1)
		}
		err := s.CreateTasks(ts)
		if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want ErrExists naming %s", bad.name, err, bad.want)
		}
	}
	s = MustReopen(t, s, path)
	all := LoadAll(t, s)
	if len(all) != 1+len(batch) {
		t.Fatalf("after reopen %d tasks, want %d (a failed batch left some behind?)", len(all), 1+len(batch))
	}
	for i, got := range all[1:] {
		if got.Spec.ID != batch[i].Spec.ID || len(got.Runs) != len(batch[i].Runs) {
			t.Fatalf("task %d: %s with %d runs, want %s with %d", i, got.Spec.ID, len(got.Runs), batch[i].Spec.ID, len(batch[i].Runs))
		}
	}
	if st := s.Stats(); st.Tasks != 1+len(batch) {
		t.Errorf("Stats().Tasks = %d, want %d", st.Tasks, 1+len(batch))
	}
}

func TestNotFound(t *testing.T) {
	s, _ := MustOpen(t)
	for name, err := range map[string]error{
		"SaveRuns":   s.SaveRuns("nope", task.Run{}),
		"CancelTask": s.CancelTask("nope", time.Now(), nil),
		"AppendLogs": s.AppendLogs("nope", 10, task.LogEntry{Data: "x"}),
		"Task":       second(s.Task("nope")),
		"Logs":       second(s.Logs("nope")),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSaveRunsDerivesState(t *testing.T) {
	s, path := MustOpen(t)
	tk := NewTask("d", 3)
	tk.Spec.Complete = 5
	MustCreate(t, s, tk)

	ended := func(r task.Run, st task.Status, result string, at time.Duration) task.Run {
		r.Status, r.Result, r.Worker = st, result, "w1"
		r.Started, r.Ended = epoch.Add(at-time.Second), epoch.Add(at)
		return r
	}
	running := tk.Runs[2]
	running.Status, running.Started = task.Running, epoch
	// Run 0 ended after run 1: its result is the task's.
	if err := s.SaveRuns("d", ended(tk.Runs[0], task.Succeeded, "a", 2*time.Second), ended(tk.Runs[1], task.Succeeded, "b", time.Second), running); err != nil {
		t.Fatal(err)
	}
	s = MustReopen(t, s, path)
	got := LoadAll(t, s)[0]
	if got.Completions != 7 || got.Result != "a" || got.Status != task.Running {
		t.Fatalf("after two successes: completions %d result %q status %s; want 7, a, running", got.Completions, got.Result, got.Status)
	}
	if err := s.SaveRuns("d", ended(tk.Runs[2], task.Failed, "", 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	s = MustReopen(t, s, path)
	got = MustTask(t, s, "d")
	if got.Completions != 7 || got.Result != "a" || got.Status != task.Failed || got.Runs[2].Status != task.Failed {
		t.Fatalf("after a failure: completions %d result %q status %s; want 7, a, failed", got.Completions, got.Result, got.Status)
	}
	if len(got.Runs) != 3 || got.Runs[1].Result != "b" || got.Runs[0].Worker != "w1" {
		t.Errorf("runs = %+v", got.Runs)
	}
}

func TestCancelTaskSurvivesReopen(t *testing.T) {
	s, path := MustOpen(t)
	tk := NewTask("c", 2)
	MustCreate(t, s, tk)
	MustCreate(t, s, NewTask("other", 1))
	runs := tk.Clone().Runs
	for i := range runs {
		runs[i].Status, runs[i].Error = task.Canceled, "canceled"
	}
	if err := s.CancelTask("c", epoch, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelTask("c", epoch.Add(time.Hour), nil); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	s = MustReopen(t, s, path)
	got := MustTask(t, s, "c")
	if got.Status != task.Canceled || got.Runs[0].Status != task.Canceled || got.Runs[1].Error != "canceled" {
		t.Fatalf("after reopen: status %s runs %+v", got.Status, got.Runs)
	}
	if o := MustTask(t, s, "other"); o.Status != task.Scheduled {
		t.Errorf("other task: %s, want scheduled", o.Status)
	}
}

func TestLoadTasksCreationOrder(t *testing.T) {
	s, path := MustOpen(t)
	const n = 1000
	var ids []string
	for i := range n {
		// Ids in an order that is neither sorted nor reverse-sorted.
		id := fmt.Sprintf("t%05d", (i*7919)%n)
		ids = append(ids, id)
		MustCreate(t, s, NewTask(id, 1+i%3))
	}
	s = MustReopen(t, s, path)
	all := LoadAll(t, s)
	if len(all) != n {
		t.Fatalf("loaded %d tasks, want %d", len(all), n)
	}
	for i, tk := range all {
		if tk.Spec.ID != ids[i] || len(tk.Runs) != 1+i%3 {
			t.Fatalf("task %d is %s with %d runs, want %s with %d", i, tk.Spec.ID, len(tk.Runs), ids[i], 1+i%3)
		}
		for j, r := range tk.Runs {
			if r.Index != j {
				t.Fatalf("task %s run %d has index %d", tk.Spec.ID, j, r.Index)
			}
		}
	}
}

func TestLoadTasksStopsAtError(t *testing.T) {
	s, _ := MustOpen(t)
	for i := range 5 {
		MustCreate(t, s, NewTask(fmt.Sprint("t", i), 1))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.LoadTasks(func(task.Task) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("err %v after %d calls, want stop after 2", err, calls)
	}
}

// TestConcurrentSaveRuns: 200 writers at once, some of them failing, share
// commits; every successful write is on disk after a reopen.
func TestConcurrentSaveRuns(t *testing.T) {
	s, path := MustOpen(t)
	const tasks, runs = 4, 50
	for i := range tasks {
		MustCreate(t, s, NewTask(fmt.Sprint("t", i), runs))
	}
	var wg sync.WaitGroup
	errs := make(chan error, tasks*runs+10)
	for i := range tasks * runs {
		wg.Go(func() {
			r := task.Run{Index: i % runs, Attempt: 1, Status: task.Succeeded, Result: fmt.Sprint(i), Ended: epoch.Add(time.Duration(i) * time.Second)}
			if err := s.SaveRuns(fmt.Sprint("t", i/runs), r); err != nil {
				errs <- err
			}
		})
	}
	// Failing calls in the same batches must not fail the others.
	for i := range 10 {
		wg.Go(func() {
			if err := s.SaveRuns(fmt.Sprint("missing", i), task.Run{}); !errors.Is(err, store.ErrNotFound) {
				errs <- fmt.Errorf("missing task: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s = MustReopen(t, s, path)
	for i, tk := range LoadAll(t, s) {
		if tk.Status != task.Succeeded || tk.Completions != runs || tk.Result != fmt.Sprint(i*runs+runs-1) {
			t.Errorf("task %s: status %s completions %d result %q", tk.Spec.ID, tk.Status, tk.Completions, tk.Result)
		}
		for j, r := range tk.Runs {
			if r.Result != fmt.Sprint(i*runs+j) {
				t.Errorf("task %s run %d: result %q, want %d", tk.Spec.ID, j, r.Result, i*runs+j)
			}
		}
	}
	if st := s.Stats(); st.Tasks != tasks || st.Runs != tasks*runs {
		t.Errorf("stats %+v", st)
	}
}

func TestSaveRunsRejectsBadIndex(t *testing.T) {
	s, _ := MustOpen(t)
	MustCreate(t, s, NewTask("x", 1))
	if err := s.SaveRuns("x", task.Run{Index: -1}); err == nil {
		t.Error("run index -1 was stored")
	}
}
