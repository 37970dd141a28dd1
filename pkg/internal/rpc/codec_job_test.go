package rpc_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func jobRun() task.JobRun {
	ref := task.RunRef{Task: "j1", Attempt: 2}
	return task.JobRun{Ref: ref, Timeout: 90 * time.Second, Reserve: 128 << 20, MaxFiles: 64 << 20, Steps: []task.StepRun{
		{ID: "a", Spec: task.RunSpec{Ref: ref, Module: module, Args: []string{"x"}, Env: []string{"K=V"}, Timeout: time.Minute, Memory: 64 << 20}},
		{ID: "b", Spec: task.RunSpec{Ref: ref, Module: module, Stdin: []byte("in"), Timeout: time.Second}, Needs: []int{0}, ContinueOnError: true},
		{ID: "c", Spec: task.RunSpec{Ref: ref, Module: module, Fuel: 7}, Needs: []int{0, 1}},
	}}
}

func roundTripJob(tb testing.TB, r task.JobRun) (task.JobRun, error) {
	tb.Helper()
	data := mustMessage(tb, wire.NewRootJobSpec, func(dst wire.JobSpec) error { return rpc.EncodeJobRun(dst, r) })
	ws, err := readRoot(data, wire.ReadRootJobSpec)
	if err != nil {
		tb.Fatal(err)
	}
	return rpc.DecodeJobRun(ws)
}

func TestJobRunRoundTrip(t *testing.T) {
	want := jobRun()
	got, err := roundTripJob(t, want)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %v\n got %#v\nwant %#v", err, got, want)
	}
}

// A peer's job that could never end, or that names steps it has not, is
// malformed.
func TestDecodeJobRunMalformed(t *testing.T) {
	for name, change := range map[string]func(*task.JobRun){
		"a cycle":         func(r *task.JobRun) { r.Steps[0].Needs = []int{2} },
		"a need past all": func(r *task.JobRun) { r.Steps[1].Needs = []int{5} },
		"itself":          func(r *task.JobRun) { r.Steps[1].Needs = []int{1} },
		"no step":         func(r *task.JobRun) { r.Steps = nil },
	} {
		r := jobRun()
		change(&r)
		if _, err := roundTripJob(t, r); !errors.Is(err, rpc.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestJobEndRoundTrip(t *testing.T) {
	for _, want := range []task.JobEnd{
		{Status: api.Succeeded, FailedStep: -1, Files: 3},
		{Status: api.Failed, FailedStep: 1, Error: "step b failed: exit code 2", Files: 1, FilesLeft: 2},
		{Status: api.Canceled, FailedStep: -1},
	} {
		data := mustMessage(t, wire.NewRootJobResult, func(dst wire.JobResult) error { return rpc.EncodeJobEnd(dst, want) })
		wr, err := readRoot(data, wire.ReadRootJobResult)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := rpc.DecodeJobEnd(wr); err != nil || got != want {
			t.Fatalf("round trip: %v %+v, want %+v", err, got, want)
		}
	}
	data := mustMessage(t, wire.NewRootJobResult, func(dst wire.JobResult) error { return dst.SetStatus("running") })
	wr, _ := readRoot(data, wire.ReadRootJobResult)
	if _, err := rpc.DecodeJobEnd(wr); !errors.Is(err, rpc.ErrMalformed) {
		t.Fatalf("a job's end of running: %v", err)
	}
}

// FuzzDecodeJobRun reads arbitrary bytes as a JobSpec, as a worker reads
// what a gateway sends: decoding never panics, and what it accepts has
// no cycle, names only its own steps, and travels again unchanged.
func FuzzDecodeJobRun(f *testing.F) {
	f.Add(mustMessage(f, wire.NewRootJobSpec, func(dst wire.JobSpec) error { return rpc.EncodeJobRun(dst, jobRun()) }))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := readRoot(data, wire.ReadRootJobSpec)
		if err != nil {
			return
		}
		r, err := rpc.DecodeJobRun(ws)
		if err != nil {
			return
		}
		if r.Plan().Cyclic() {
			t.Fatalf("accepted a cycle: %+v", r)
		}
		for i, st := range r.Steps {
			for _, n := range st.Needs {
				if n < 0 || n >= len(r.Steps) || n == i {
					t.Fatalf("step %d needs %d of %d", i, n, len(r.Steps))
				}
			}
		}
		again, err := roundTripJob(t, r)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("decoded %#v, then after a round trip %#v (%v)", r, again, err)
		}
	})
}
