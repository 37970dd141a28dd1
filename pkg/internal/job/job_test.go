package job_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/job"
)

const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// resolve knows one module, by its hash and as "m".
func resolve(ref string) (string, error) {
	if ref == "m" || ref == "sha256:"+hash {
		return hash, nil
	}
	return "", errors.New("no such module")
}

// MustNew reads a job request in JSON and makes it.
func MustNew(tb testing.TB, body string) job.Spec {
	tb.Helper()
	var r api.JobRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		tb.Fatal(err)
	}
	s, err := job.New(r, resolve)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNew(t *testing.T) {
	s := MustNew(t, `{"name": "n", "metadata": {"B": "meta", "A": "1"}, "timeout_seconds": "1m", "steps": [
		{"module": "m", "env": {"B": "own"}, "memory": "64MiB", "timeout": 2.5},
		{"id": "x", "module": "sha256:`+hash+`"},
		{"module": "m", "needs": []},
		{"module": "m", "needs": ["x", "step1"]}]}`)
	if s.Timeout != time.Minute || len(s.Steps) != 4 {
		t.Fatalf("job: %+v", s)
	}
	a, x, c, d := s.Steps[0], s.Steps[1], s.Steps[2], s.Steps[3]
	switch {
	case a.ID != "step1" || x.ID != "x" || c.ID != "step3":
		t.Fatalf("ids: %s %s %s", a.ID, x.ID, c.ID)
	case a.Module != hash || x.Module != hash:
		t.Fatalf("modules: %s %s", a.Module, x.Module)
	case a.Needs != nil || !slices.Equal(x.Needs, []int{0}) || c.Needs != nil || !slices.Equal(d.Needs, []int{1, 0}):
		t.Fatalf("needs: %v %v %v %v", a.Needs, x.Needs, c.Needs, d.Needs)
	case !slices.Equal(a.Env, []string{"A=1", "B=meta", "B=own"}): // the step's own comes last, and wins
		t.Fatalf("env: %q", a.Env)
	case a.Memory != 64<<20 || a.Timeout != 2500*time.Millisecond:
		t.Fatalf("limits: %d %v", a.Memory, a.Timeout)
	}
}

func TestNewInvalid(t *testing.T) {
	for _, c := range []struct{ body, field, says string }{
		{`{"steps": []}`, "steps", "at least one"},
		{`{"id": "no/slash", "steps": [{"module": "m"}]}`, "id", "letters"},
		{`{"steps": [{"module": ""}]}`, "steps[0].module", "required"},
		{`{"steps": [{"module": "m"}, {"module": "other"}]}`, "steps[1].module", "no such module"},
		{`{"steps": [{"id": "a", "module": "m"}, {"id": "a", "module": "m"}]}`, "steps[1].id", "another step"},
		{`{"steps": [{"module": "m", "needs": ["step1"]}]}`, "steps[0].needs", "itself"},
		{`{"steps": [{"module": "m", "needs": ["zz"]}]}`, "steps[0].needs", `"zz"`},
		{`{"steps": [{"module": "m"}, {"module": "m", "needs": ["step1", "step1"]}]}`, "steps[1].needs", "twice"},
		{`{"steps": [{"id": "a", "module": "m", "needs": ["c"]}, {"id": "b", "module": "m", "needs": ["a"]}, {"id": "c", "module": "m", "needs": ["b"]}]}`,
			"steps[0].needs", "a -> c -> b -> a"},
		{`{"steps": [{"module": "m", "env": {"A=B": "x"}}]}`, "steps[0].env", "name"},
		{`{"metadata": {"": "x"}, "steps": [{"module": "m"}]}`, "metadata", "name"},
		{`{"callback_url": "file:///etc/passwd", "steps": [{"module": "m"}]}`, "callback_url", "http"},
		{`{"priority": 5000, "steps": [{"module": "m"}]}`, "priority", "between"},
		{`{"retries": -1, "steps": [{"module": "m"}]}`, "retries", "between"},
	} {
		var r api.JobRequest
		if err := json.Unmarshal([]byte(c.body), &r); err != nil {
			t.Fatal(err)
		}
		_, err := job.New(r, resolve)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Field != c.field || !strings.Contains(ae.Message, c.says) {
			t.Errorf("%s: %v, want an error of %s saying %s", c.body, err, c.field, c.says)
		}
	}
}

// plan runs a plan, ending the steps as ends says (true: succeeded) in
// the order they become ready, and returns the job's end and each step's
// status.
func plan(s *job.Spec, ends map[string]bool) (api.Status, int, []api.Status, []string) {
	p := job.NewPlan(s)
	var order []string
	for !p.Done() {
		ready := p.Ready()
		for _, i := range ready {
			p.Start(i)
		}
		for _, i := range ready {
			order = append(order, s.Steps[i].ID)
			ok, set := ends[s.Steps[i].ID]
			p.End(i, ok || !set)
		}
	}
	st, failed := p.Finish()
	return st, failed, slices.Clone(p.Statuses()), order
}

func TestPlan(t *testing.T) {
	diamond := MustNew(t, `{"steps": [{"id": "a", "module": "m"}, {"id": "b", "module": "m", "needs": []},
		{"id": "c", "module": "m", "needs": ["a"]}, {"id": "d", "module": "m", "needs": ["b", "c"]}]}`)
	cont := MustNew(t, `{"steps": [{"id": "a", "module": "m"}, {"id": "b", "module": "m", "continue_on_error": true}, {"id": "c", "module": "m"}]}`)
	S, F, K := api.Succeeded, api.Failed, api.Skipped
	for _, c := range []struct {
		name   string
		spec   job.Spec
		ends   map[string]bool
		status api.Status
		failed int
		steps  []api.Status
		order  string
	}{
		{"all succeed", diamond, nil, S, -1, []api.Status{S, S, S, S}, "a b c d"},
		{"a fails", diamond, map[string]bool{"a": false}, F, 0, []api.Status{F, S, K, K}, "a b"},
		{"d fails", diamond, map[string]bool{"d": false}, F, 3, []api.Status{S, S, S, F}, "a b c d"},
		{"continue on error", cont, map[string]bool{"b": false}, S, -1, []api.Status{S, F, S}, "a b c"},
		{"the first fails", cont, map[string]bool{"a": false}, F, 0, []api.Status{F, K, K}, "a"},
	} {
		st, failed, steps, order := plan(&c.spec, c.ends)
		if st != c.status || failed != c.failed || !slices.Equal(steps, c.steps) || strings.Join(order, " ") != c.order {
			t.Errorf("%s: %s %d %v %q, want %s %d %v %q", c.name, st, failed, steps, order, c.status, c.failed, c.steps, c.order)
		}
	}
}

// A job stopped from outside ends canceled or failed, and its steps that
// did not start with it.
func TestPlanStop(t *testing.T) {
	s := MustNew(t, `{"steps": [{"module": "m"}, {"module": "m"}, {"module": "m"}]}`)
	for _, c := range []struct {
		stop  api.Status
		steps []api.Status
	}{
		{api.Canceled, []api.Status{api.Succeeded, api.Canceled, api.Canceled}},
		{api.Failed, []api.Status{api.Succeeded, api.Failed, api.Skipped}},
	} {
		p := job.NewPlan(&s)
		p.Start(0)
		p.End(0, true)
		p.Start(p.Ready()[0])
		p.Stop(c.stop)
		if r := p.Ready(); r != nil {
			t.Fatalf("ready after stop: %v", r)
		}
		p.End(1, false)
		st, _ := p.Finish()
		if st != c.stop || !slices.Equal(p.Statuses(), c.steps) {
			t.Errorf("stopped %s: %s %v, want %v", c.stop, st, p.Statuses(), c.steps)
		}
	}
}

// Reserve is the most memory of one level of the graph.
func TestReserve(t *testing.T) {
	s := MustNew(t, `{"steps": [{"id": "a", "module": "m", "memory": 10},
		{"id": "b", "module": "m", "memory": 20, "needs": ["a"]}, {"id": "c", "module": "m", "memory": 30, "needs": ["a"]},
		{"id": "d", "module": "m", "memory": 40, "needs": ["b", "c"]}]}`)
	if got := s.Reserve(); got != 50 {
		t.Fatalf("reserve %d, want 50 (b and c side by side)", got)
	}
	line := MustNew(t, `{"steps": [{"module": "m", "memory": 10}, {"module": "m", "memory": 5}]}`)
	if got := line.Reserve(); got != 10 {
		t.Fatalf("reserve of a line %d, want 10", got)
	}
}

// FuzzNew reads arbitrary JSON as a job request: New never panics, and a
// job it takes has its steps' needs in range and no cycle.
func FuzzNew(f *testing.F) {
	f.Add(`{"steps": [{"module": "m"}, {"module": "m", "needs": ["step1"]}]}`)
	f.Add(`{"steps": [{"id": "a", "module": "m", "needs": ["b"]}, {"id": "b", "module": "m", "needs": ["a"]}]}`)
	f.Add(`{"metadata": {"K": "V"}, "timeout_seconds": "1m", "steps": [{"module": "sha256:` + hash + `", "env": {"A": "B"}, "memory": "1MiB"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var r api.JobRequest
		if json.Unmarshal([]byte(body), &r) != nil {
			return
		}
		s, err := job.New(r, resolve)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Field == "" {
				t.Fatalf("an error that names no field: %v", err)
			}
			return
		}
		if s.Cyclic() {
			t.Fatalf("took a cycle: %+v", s)
		}
		for i, st := range s.Steps {
			for _, n := range st.Needs {
				if n < 0 || n >= len(s.Steps) || n == i {
					t.Fatalf("step %d needs %d", i, n)
				}
			}
		}
	})
}

// What a job carries to its worker is bounded: the metadata counts once
// in every step, so a small request cannot become a message past the
// wire's limit; a step's memory is bounded by wasm32's.
func TestNewBounds(t *testing.T) {
	big := api.JobRequest{Metadata: map[string]string{"A": strings.Repeat("x", 60<<10), "B": strings.Repeat("y", 60<<10)}}
	for i := range api.MaxSteps {
		big.Steps = append(big.Steps, api.StepRequest{ID: fmt.Sprint("s", i), Module: "m"})
	}
	for _, c := range []struct {
		name  string
		r     api.JobRequest
		field string
	}{
		{"metadata in every step", big, "steps"},
		{"a value past 64 KiB", api.JobRequest{Metadata: map[string]string{"K": strings.Repeat("x", 70<<10)}, Steps: []api.StepRequest{{Module: "m"}}}, "metadata"},
		{"an argument past 64 KiB", api.JobRequest{Steps: []api.StepRequest{{Module: "m", Args: []string{strings.Repeat("x", 70<<10)}}}}, "steps[0].args"},
		{"memory past 4 GiB", api.JobRequest{Steps: []api.StepRequest{{Module: "m", Memory: 8 << 60}}}, "steps[0].memory"},
	} {
		_, err := job.New(c.r, resolve)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Field != c.field {
			t.Errorf("%s: %v, want an error of %s", c.name, err, c.field)
		}
	}
}
