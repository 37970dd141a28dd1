package wasm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/wasm"
)

// jsonnetPath is go-jsonnet's command built by the Makefile, which is not
// embedded (8 MB).
const jsonnetPath = "../examples/jsonnet.wasm"

// jobCache keeps the job modules' compilations for every test's runtime:
// compiling jsonnet takes about 2 s, each Go module about 0.5 s.
var jobCache = wazero.NewCompilationCache()

// jobModules runs the example job's modules, each compiled once for all
// the tests (jobCache), with a host directory mounted at /shared as a
// job's worker mounts it.
type jobModules struct {
	ctx      context.Context
	r        wazero.Runtime
	bytes    map[string][]byte // by the examples' module names
	compiled map[string]wazero.CompiledModule
}

func newJobModules(t *testing.T) *jobModules {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false).WithCompilationCache(jobCache))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	jsonnet, err := os.ReadFile(jsonnetPath)
	if err != nil {
		t.Fatalf("%v (make -C wasm builds it)", err)
	}
	return &jobModules{ctx: ctx, r: r, compiled: map[string]wazero.CompiledModule{}, bytes: map[string][]byte{
		"jobgen":       wasm.JobGen,
		"jobtransform": wasm.JobTransform,
		"jobsummary":   wasm.JobSummary,
		"jobfail":      wasm.JobFail,
		"jobfile":      wasm.JobFile,
		"jsonnet":      jsonnet,
	}}
}

// stepResult is what a step's run left.
type stepResult struct {
	stdout, stderr string
	code           uint32
}

// run runs module with argv, env (K=V) and stdin, and dir at /shared.
func (m *jobModules) run(t *testing.T, module, dir string, argv, env []string, stdin string) stepResult {
	t.Helper()
	c, ok := m.compiled[module]
	if !ok {
		b, ok := m.bytes[module]
		if !ok {
			t.Fatalf("no module %q", module)
		}
		var err error
		if c, err = m.r.CompileModule(m.ctx, b); err != nil {
			t.Fatalf("compile %s: %v", module, err)
		}
		m.compiled[module] = c
	}
	var out, errOut bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(argv...).
		WithStdin(strings.NewReader(stdin)).
		WithStdout(&out).
		WithStderr(&errOut).
		WithFSConfig(wazero.NewFSConfig().WithDirMount(dir, "/shared"))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	var res stepResult
	mod, err := m.r.InstantiateModule(m.ctx, c, cfg)
	if exit := (*sys.ExitError)(nil); errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", module, argv, err)
	}
	if mod != nil {
		mod.Close(m.ctx)
	}
	res.stdout, res.stderr = out.String(), errOut.String()
	return res
}

// mustRun runs module and fails the test unless it exits 0.
func (m *jobModules) mustRun(t *testing.T, module, dir string, argv []string, env ...string) string {
	t.Helper()
	res := m.run(t, module, dir, argv, env, "")
	if res.code != 0 {
		t.Fatalf("%s %q: exit code %d, stderr %q", module, argv, res.code, res.stderr)
	}
	return res.stdout
}

func readShared(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// summary is jobsummary's output.
type summary struct {
	Title      string         `json:"title"`
	Count      int64          `json:"count"`
	Sum        int64          `json:"sum"`
	Min        int64          `json:"min"`
	Max        int64          `json:"max"`
	Mean       float64        `json:"mean"`
	SumSquares int64          `json:"sum_squares"`
	Words      map[string]int `json:"words"`
}

// wantPipeline computes in Go what the pipeline's steps write for n rows:
// jobgen's data.csv, jobtransform's transformed.csv and jobsummary's
// numbers.
func wantPipeline(n int) (data, transformed string, s summary) {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	var d, tr strings.Builder
	d.WriteString("id,value,word\n")
	tr.WriteString("id,value,word,square\n")
	s.Words = map[string]int{}
	for i := 1; i <= n; i++ {
		v, w := int64(i*7919%1000), words[i%len(words)]
		fmt.Fprintf(&d, "%d,%d,%s\n", i, v, w)
		if v%2 != 0 {
			continue
		}
		fmt.Fprintf(&tr, "%d,%d,%s,%d\n", i, v, w, v*v)
		if s.Count == 0 || v < s.Min {
			s.Min = v
		}
		if s.Count == 0 || v > s.Max {
			s.Max = v
		}
		s.Count++
		s.Sum += v
		s.SumSquares += v * v
		s.Words[w]++
	}
	if s.Count > 0 {
		s.Mean = float64(s.Sum) / float64(s.Count)
	}
	return d.String(), tr.String(), s
}

// The pipeline's three steps, run one after the other on one directory,
// write what the same computation in Go gives.
func TestJobPipeline(t *testing.T) {
	m := newJobModules(t)
	for _, tc := range []struct {
		name string
		args []string // jobgen's after argv[0]
		rows int
	}{
		{"default", nil, 1000},
		{"one row", []string{"1"}, 1},
		{"two rows", []string{"2"}, 2},
		{"no rows", []string{"0"}, 0},
		{"many rows", []string{"54321"}, 54321}, // past jobtransform's 64 KiB buffers
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data, transformed, want := wantPipeline(tc.rows)
			want.Title = "Evens of " + strconv.Itoa(tc.rows)

			out := m.mustRun(t, "jobgen", dir, append([]string{"generate"}, tc.args...))
			if w := fmt.Sprintf("jobgen: wrote %d rows to /shared/data.csv (%d bytes)\n", tc.rows, len(data)); out != w {
				t.Errorf("jobgen printed %q, want %q", out, w)
			}
			if got := readShared(t, dir, "data.csv"); got != data {
				t.Fatalf("data.csv: %d bytes, want %d", len(got), len(data))
			}

			out = m.mustRun(t, "jobtransform", dir, []string{"transform"})
			if w := fmt.Sprintf("jobtransform: read %d rows from /shared/data.csv, kept %d with an even value in /shared/transformed.csv\n", tc.rows, want.Count); out != w {
				t.Errorf("jobtransform printed %q, want %q", out, w)
			}
			if got := readShared(t, dir, "transformed.csv"); got != transformed {
				t.Fatalf("transformed.csv: %d bytes, want %d", len(got), len(transformed))
			}

			out = m.mustRun(t, "jobsummary", dir, []string{"summarize"}, "JOB_TITLE="+want.Title)
			if file := readShared(t, dir, "summary.json"); out != file {
				t.Errorf("jobsummary printed %q, its file holds %q", out, file)
			}
			var got summary
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("summary %q: %v", out, err)
			}
			if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
				t.Errorf("summary\n got %s\nwant %s", g, w)
			}
		})
	}
}

// The steps' failures: a missing or malformed input is exit code 1 with a
// message naming the file, bad argv is 2.
func TestJobStepErrors(t *testing.T) {
	m := newJobModules(t)
	for _, tc := range []struct {
		name     string
		module   string
		args     []string
		files    map[string]string // put in /shared first
		wantExit uint32
		stderr   string // a part of stderr
	}{
		{"jobgen/bad rows", "jobgen", []string{"ten"}, nil, 2, "usage: jobgen"},
		{"jobgen/negative rows", "jobgen", []string{"-1"}, nil, 2, "usage: jobgen"},
		{"jobtransform/no input", "jobtransform", nil, nil, 1, "jobtransform: /shared/data.csv: No such file or directory"},
		{"jobtransform/no header", "jobtransform", nil, map[string]string{"data.csv": "1,2,alpha\n"}, 1, "/shared/data.csv:1: want the header"},
		{"jobtransform/bad row", "jobtransform", nil, map[string]string{"data.csv": "id,value,word\n1,2,alpha\n2,x,bravo\n"}, 1, "/shared/data.csv:3: want id,value,word"},
		{"jobtransform/argv", "jobtransform", []string{"x"}, nil, 2, "usage: jobtransform"},
		{"jobsummary/no input", "jobsummary", nil, nil, 1, "jobsummary: open /shared/transformed.csv"},
		{"jobsummary/bad row", "jobsummary", nil, map[string]string{"transformed.csv": "id,value,word,square\n1,2,alpha\n"}, 1, "/shared/transformed.csv:2: want id,value,word,square"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, s := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := m.run(t, tc.module, dir, append([]string{"step"}, tc.args...), nil, "")
			if res.code != tc.wantExit || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", res.code, res.stderr, tc.wantExit, tc.stderr)
			}
		})
	}
}

// jobfail leaves its file and exits with the code asked for.
func TestJobFail(t *testing.T) {
	m := newJobModules(t)
	for _, tc := range []struct {
		args     []string
		wantExit uint32
	}{
		{nil, 3},
		{[]string{"0"}, 0},
		{[]string{"7"}, 7},
		{[]string{"255"}, 255},
	} {
		t.Run(fmt.Sprint(tc.wantExit), func(t *testing.T) {
			dir := t.TempDir()
			res := m.run(t, "jobfail", dir, append([]string{"fail-step"}, tc.args...), nil, "")
			want := fmt.Sprintf("jobfail: step fail-step exits with %d\n", tc.wantExit)
			if res.code != tc.wantExit || res.stderr != want || res.stdout != "" {
				t.Errorf("exit code %d, stderr %q, stdout %q; want %d and %q", res.code, res.stderr, res.stdout, tc.wantExit, want)
			}
			if got := readShared(t, dir, "jobfail.txt"); got != want {
				t.Errorf("jobfail.txt holds %q, want %q", got, want)
			}
		})
	}
	for _, args := range [][]string{{"256"}, {"-1"}, {"x"}, {"1", "2"}} {
		if res := m.run(t, "jobfail", t.TempDir(), append([]string{"f"}, args...), nil, ""); res.code != 2 {
			t.Errorf("jobfail %q: exit code %d, want 2", args, res.code)
		}
	}
}

// jobfile writes its stdin to a file, prints files, and checks one.
func TestJobFile(t *testing.T) {
	m := newJobModules(t)
	dir := t.TempDir()
	text := strings.Repeat("a line of text\n", 10_000) // past its 64 KiB buffer
	res := m.run(t, "jobfile", dir, []string{"w", "write", "/shared/in.txt"}, nil, text)
	if res.code != 0 || res.stdout != fmt.Sprintf("jobfile: wrote %d bytes to /shared/in.txt\n", len(text)) {
		t.Fatalf("write: exit code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if got := readShared(t, dir, "in.txt"); got != text {
		t.Fatalf("in.txt: %d bytes, want %d", len(got), len(text))
	}
	if out := m.mustRun(t, "jobfile", dir, []string{"c", "cat", "/shared/in.txt", "/shared/in.txt"}); out != text+text {
		t.Errorf("cat printed %d bytes, want %d", len(out), 2*len(text))
	}
	for _, tc := range []struct {
		name, stdin string
		wantExit    uint32
	}{
		{"same", text, 0},
		{"shorter", text[:len(text)-1], 1},
		{"longer", text + "x", 1},
		{"other", "another text", 1},
	} {
		res := m.run(t, "jobfile", dir, []string{"e", "expect", "/shared/in.txt"}, nil, tc.stdin)
		if res.code != tc.wantExit || res.stdout != text {
			t.Errorf("expect %s: exit code %d (stderr %q), printed %d bytes; want %d and the file", tc.name, res.code, res.stderr, len(res.stdout), tc.wantExit)
		}
	}
	for _, argv := range [][]string{{"x", "cat", "/shared/none"}, {"x", "expect", "/shared/none"}, {"x", "write", "/shared/no/dir"}} {
		if res := m.run(t, "jobfile", dir, argv, nil, ""); res.code != 1 || !strings.Contains(res.stderr, "No such file or directory") {
			t.Errorf("%q: exit code %d, stderr %q; want 1 and a missing file", argv, res.code, res.stderr)
		}
	}
	if res := m.run(t, "jobfile", dir, []string{"x", "copy", "a"}, nil, ""); res.code != 2 {
		t.Errorf("bad argv: exit code %d, want 2", res.code)
	}
}

// go-jsonnet's command, a program written elsewhere, reads its input from
// /shared, imports a file there and writes its output there.
func TestJsonnet(t *testing.T) {
	m := newJobModules(t)
	dir := t.TempDir()
	files := map[string]string{
		"main.jsonnet":  `local lib = import "lib.libsonnet"; { sum: lib.a + lib.b, title: std.extVar("JOB_TITLE"), squares: [i * i for i in std.range(1, 3)] }`,
		"lib.libsonnet": `{ a: 40, b: 2 }`,
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m.mustRun(t, "jsonnet", dir, []string{"jsonnet", "-V", "JOB_TITLE", "-o", "/shared/out/main.json", "-c", "/shared/main.jsonnet"}, "JOB_TITLE=plan")
	got := readShared(t, dir, "out/main.json")
	want := "{\n   \"squares\": [\n      1,\n      4,\n      9\n   ],\n   \"sum\": 42,\n   \"title\": \"plan\"\n}\n"
	if got != want {
		t.Errorf("out/main.json holds %q, want %q", got, want)
	}

	// -m: one file per field, written through an os.Root of the directory.
	m.mustRun(t, "jsonnet", dir, []string{"jsonnet", "-m", "/shared/multi", "-c", "-e", `{"a/b.json": {x: 1}, "c.json": [2]}`})
	if got := readShared(t, dir, "multi/a/b.json") + readShared(t, dir, "multi/c.json"); got != "{\n   \"x\": 1\n}\n[\n   2\n]\n" {
		t.Errorf("-m wrote %q", got)
	}

	res := m.run(t, "jsonnet", dir, []string{"jsonnet", "-o", "/shared/x.json", "/shared/missing.jsonnet"}, nil, "")
	if res.code != 1 || !strings.Contains(res.stderr, "missing.jsonnet") {
		t.Errorf("a missing input: exit code %d, stderr %q; want 1 naming the file", res.code, res.stderr)
	}
}

// The job files of examples/jobs, run as a worker runs a chain of steps
// (each needing the one before it) in one directory, end as their README
// says. The jobs' checks and Plan (pkg/internal/job) are the gateway's
// and the worker's to test: the package is internal to pkg.
func TestExampleJobs(t *testing.T) {
	m := newJobModules(t)
	for _, tc := range []struct {
		file   string
		status api.Status
		steps  []api.Status
		// files lists what the job leaves in /shared, with a part of each.
		files map[string]string
	}{
		{"pipeline.json", api.Succeeded, []api.Status{api.Succeeded, api.Succeeded, api.Succeeded},
			map[string]string{"data.csv": "1000,0,alpha\n", "transformed.csv": "1000,0,alpha,0\n", "summary.json": `"title": "Even values of 1000 rows"`}},
		{"failing.json", api.Failed, []api.Status{api.Succeeded, api.Failed, api.Skipped},
			map[string]string{"data.csv": "100,900,alpha\n", "jobfail.txt": "jobfail: step fail exits with 3\n"}},
		{"failing-continue.json", api.Succeeded, []api.Status{api.Succeeded, api.Failed, api.Succeeded},
			map[string]string{"data.csv": "100,900,alpha\n", "jobfail.txt": "jobfail: step fail exits with 3\n", "transformed.csv": "100,900,alpha,810000\n"}},
		{"thirdparty.json", api.Succeeded, []api.Status{api.Succeeded, api.Succeeded, api.Succeeded},
			map[string]string{"plan.jsonnet": "std.extVar('JOB_TITLE')", "plan.json": `"total_cores": 12`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../examples/jobs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var req api.JobRequest
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			status, steps := runChain(t, m, req, dir)
			if status != tc.status || fmt.Sprint(steps) != fmt.Sprint(tc.steps) {
				t.Errorf("job %s, steps %v; want %s, %v", status, steps, tc.status, tc.steps)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(tc.files) {
				t.Errorf("the job left %d files, want %d", len(entries), len(tc.files))
			}
			for name, part := range tc.files {
				if got := readShared(t, dir, name); !strings.Contains(got, part) {
					t.Errorf("%s holds %q, want it to contain %q", name, got, part)
				}
			}
		})
	}
}

// runChain runs a job whose steps need the one before them (no needs
// given), with docs/JOBS.md's rules for that case: argv[0] is the step's
// id, the environment the metadata overridden by the step's env, and a
// step that fails without continue_on_error fails the job and skips the
// steps after it.
func runChain(t *testing.T, m *jobModules, req api.JobRequest, dir string) (api.Status, []api.Status) {
	t.Helper()
	status := api.Succeeded
	var steps []api.Status
	for _, st := range req.Steps {
		if st.Needs != nil {
			t.Fatalf("step %s: needs %q, runChain runs only chains", st.ID, st.Needs)
		}
		if status == api.Failed {
			steps = append(steps, api.Skipped)
			continue
		}
		env := map[string]string{}
		for k, v := range req.Metadata {
			env[k] = v
		}
		for k, v := range st.Env {
			env[k] = v
		}
		var kvs []string
		for k, v := range env {
			kvs = append(kvs, k+"="+v)
		}
		res := m.run(t, st.Module, dir, append([]string{st.ID}, st.Args...), kvs, st.Stdin)
		t.Logf("step %s: exit code %d\nstdout: %s\nstderr: %s", st.ID, res.code, res.stdout, res.stderr)
		if res.code == 0 {
			steps = append(steps, api.Succeeded)
			continue
		}
		steps = append(steps, api.Failed)
		if !st.ContinueOnError {
			status = api.Failed
		}
	}
	return status, steps
}
