package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/wasm"
)

// Jobs from the command line against a real mesh: modules named with
// module put, a job submitted with --wait that succeeds and one that
// fails, the list, one job, its logs with each step's prefix, its
// artifacts, cancel.
func TestJobCommands(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	gw := "--gateway=" + url
	hello := MustWriteFile(t, "hello.wasm", wasm.Hello)
	hash := MustWriteFile(t, "hash-cmd.wasm", wasm.HashCCommand)

	shoal(t, "modules", gw).want(t, 0, nil, []string{"no named modules at " + url, "shoal module put FILE.wasm --name NAME"})
	shoal(t, "module", "put", hello, "--name", "hello", gw).want(t, 0, []string{"sha256:", " hello\n"}, nil)
	shoal(t, "module", "put", "--name=hash", hash, gw).want(t, 0, []string{" hash\n"}, nil)
	r := shoal(t, "module", "put", hash, gw)
	r.want(t, 0, []string{"sha256:"}, nil)
	hashModule := strings.TrimSpace(r.stdout)
	shoal(t, "modules", gw).want(t, 0, []string{"NAME", "MODULE", "hash ", "hello ", hashModule + "\n"}, nil)

	ok := MustWriteFile(t, "ok.json", []byte(`{"id": "ok", "name": "greet", "steps": [
		{"id": "a", "module": "hello", "args": ["one"]},
		{"id": "b", "module": "hello", "args": ["two"], "stdin": "in\n"}]}`))
	r = shoal(t, "job", "submit", ok, "--wait", gw)
	r.want(t, 0, []string{"job ok succeeded, 2/2 steps done\n", "STEP", "NEEDS", "EXIT", "a     succeeded", "b     succeeded  a      0"},
		// The view prints each state it sees; step a may be running at its first look.
		[]string{"ok: step a succeeded, exit 0, ", "ok: step b succeeded, exit 0, ", "ok: succeeded\n"})
	if strings.Contains(r.stderr, "\033") {
		t.Errorf("the live view to a non-terminal moved the cursor:\n%q", r.stderr)
	}

	bad := MustWriteFile(t, "bad.json", []byte(`{"id": "bad", "steps": [
		{"module": "hello"}, {"module": "hash", "args": ["x"]}, {"module": "hello"}]}`))
	r = shoal(t, "job", "submit", bad, "--wait", gw)
	r.want(t, 1, []string{"job bad failed, 3/3 steps done", "step2  failed", "step3  skipped"},
		[]string{"bad: step step2 failed, exit 2, ", "bad: step step3 skipped", "shoal: job bad failed: step step2 failed"})

	shoal(t, "jobs", gw).want(t, 0, []string{"ID ", "NAME", "STATUS", "STEPS", "WORKER", "CREATED", "DURATION",
		"ok ", "greet", "succeeded", "2/2", "bad ", "failed", "3/3"}, nil)
	shoal(t, "jobs", "--status", "failed", gw).want(t, 0, []string{"bad "}, nil)
	r = shoal(t, "jobs", "--limit", "1", "--json", gw)
	r.want(t, 0, nil, []string{"(the newest 1; --limit N lists more)"})
	var list []api.Job
	mustUnmarshal(t, r.stdout, &list)
	if len(list) != 1 || list[0].ID != "bad" {
		t.Errorf("jobs --limit 1 --json = %+v, want bad", list)
	}
	shoal(t, "jobs", "--status", "running", gw).want(t, 0, nil, []string{"no running jobs at " + url})

	shoal(t, "job", "bad", gw).want(t, 0, []string{"id:", "bad", "status:", "failed", "steps:", "3/3 done",
		"error:", "step step2 failed", "STEP", "step2  failed     step1  2", "step3  skipped    step2  -"}, nil)
	var j api.Job
	mustUnmarshal(t, shoal(t, "job", "ok", "--json", gw).stdout, &j)
	if j.ID != "ok" || j.Status != api.Succeeded || len(j.Steps) != 2 {
		t.Errorf("job ok --json = %+v", j)
	}

	// Each line with its step, whole; -f ends with the job.
	for _, args := range [][]string{{"logs", "ok"}, {"logs", "-f", "ok"}} {
		r = shoal(t, append(args, gw)...)
		r.want(t, 0, nil, nil)
		if want := "[a] hello one\n[b] hello two\n[b] in\n"; r.stdout != want {
			t.Errorf("%s: stdout %q, want %q", args, r.stdout, want)
		}
	}
	r = shoal(t, "logs", "-f", "bad", gw)
	r.want(t, 0, nil, []string{"[step2] usage: hash"})
	if r.stdout != "[step1] hello\n" { // step3 was skipped
		t.Errorf("logs -f bad: stdout %q", r.stdout)
	}

	dir := t.TempDir()
	shoal(t, "job", "get", "ok", "--output", dir, gw).want(t, 0, nil, []string{"job ok has no artifacts"})

	shoal(t, "job", "cancel", "ok", gw).want(t, 1, nil, []string{"shoal: job cancel: job ok has already ended (succeeded); there is nothing to cancel"})
	for _, args := range [][]string{{"job", "nope"}, {"job", "cancel", "nope"}, {"job", "get", "nope"}} {
		shoal(t, append(args, gw)...).want(t, 1, nil, []string{"shoal: job nope not found; `shoal jobs` lists the jobs"})
	}
	shoal(t, "logs", "nope", gw).want(t, 1, nil, []string{"shoal: task nope not found"})
}

// Without --wait, job submit prints the id; "-" reads the job from stdin;
// a job the gateway would refuse is refused with its field named.
func TestJobSubmit(t *testing.T) {
	url, _ := MustAPIGateway(t) // no worker: jobs stay queued
	gw := "--gateway=" + url
	shoal(t, "jobs", gw).want(t, 0, nil, []string{"no jobs at " + url, "shoal job submit JOB.json"})
	shoal(t, "module", "put", MustWriteFile(t, "h.wasm", wasm.Hello), "--name", "hello", gw).want(t, 0, nil, nil)

	var out, errOut bytes.Buffer
	code := cli.RunStdin(context.Background(), []string{"job", "submit", "-", gw},
		strings.NewReader(`{"id": "in", "steps": [{"module": "hello"}]}`), &out, &errOut)
	if code != 0 || out.String() != "in queued\n" {
		t.Errorf("job submit -: %d %q %q", code, out.String(), errOut.String())
	}
	shoal(t, "job", "cancel", "in", gw).want(t, 0, []string{"in canceled\n"}, nil)

	for _, tc := range []struct {
		name, body string
		code       int
		stderr     string
	}{
		{"misspelt field", `{"steps": [{"module": "hello", "arg": ["x"]}]}`, 1, `unknown field "arg"`},
		{"not JSON", `steps:`, 1, "is not a job in JSON"},
		{"two jobs", `{"steps": [{"module": "hello"}]} {}`, 1, "more than one JSON value"},
		{"unknown module", `{"steps": [{"module": "nosuch"}]}`, 1, "steps[0].module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shoal(t, "job", "submit", MustWriteFile(t, "job.json", []byte(tc.body)), gw).want(t, tc.code, nil, []string{tc.stderr})
		})
	}
	shoal(t, "job", "submit", gw).want(t, 2, nil, []string{"shoal: job submit: missing JOB.json: usage: shoal job submit"})
	shoal(t, "job", gw).want(t, 2, nil, []string{"shoal: job: missing job ID"})
	shoal(t, "module").want(t, 2, nil, []string{"shoal: module: missing put"})
	shoal(t, "module", "push").want(t, 2, nil, []string{`shoal: module: unknown verb "push"`})
}

// job get writes a job's artifacts under DIR, checked against their
// listing, and job shows them.
func TestJobGet(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	gw := "--gateway=" + url
	shoal(t, "module", "put", MustWriteFile(t, "jobgen.wasm", wasm.JobGen), "--name", "jobgen", gw).want(t, 0, nil, nil)
	job := MustWriteFile(t, "gen.json", []byte(`{"id": "gen", "steps": [{"module": "jobgen", "args": ["3"]}]}`))
	shoal(t, "job", "submit", job, "--wait", gw).want(t, 0, []string{"job gen succeeded"}, nil)
	want := "id,value,word\n1,919,bravo\n2,838,charlie\n3,757,delta\n"
	shoal(t, "job", "gen", gw).want(t, 0, []string{"ARTIFACT", "SIZE", "data.csv", fmt.Sprintf("%d bytes", len(want))}, nil)

	dir := filepath.Join(t.TempDir(), "out")
	shoal(t, "job", "get", "gen", "--output", dir, gw).want(t, 0, []string{filepath.Join(dir, "data.csv")}, []string{"1 files, "})
	if b, err := os.ReadFile(filepath.Join(dir, "data.csv")); err != nil || string(b) != want {
		t.Errorf("data.csv: %q, %v; want %q", b, err, want)
	}
	t.Chdir(t.TempDir()) // the default DIR is ./ID
	shoal(t, "job", "get", "gen", gw).want(t, 0, []string{filepath.Join("gen", "data.csv")}, nil)
	if _, err := os.Stat(filepath.Join("gen", "data.csv")); err != nil {
		t.Error(err)
	}
}

// shoal submit --shared gives a task a /shared, and shoal task get
// downloads what its run left there.
func TestTaskGet(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	gw := "--gateway=" + url
	mod := MustWriteFile(t, "jobgen.wasm", wasm.JobGen)
	shoal(t, "submit", "--id", "gen", "--shared", "--args", "3", "--wait", mod, gw).want(t, 0, []string{"task gen succeeded"}, nil)
	dir := t.TempDir()
	shoal(t, "task", "get", "gen", "--output", dir, gw).want(t, 0, []string{filepath.Join(dir, "data.csv")}, nil)
	b, err := os.ReadFile(filepath.Join(dir, "data.csv"))
	if err != nil || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("data.csv: %v %q", err, b)
	}
}
