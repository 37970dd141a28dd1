//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

// jobModules are the modules the example jobs and testdata/longstep.json
// name, by name.
var jobModules = map[string]string{
	"jobgen":       "../examples/jobgen.wasm",
	"jobtransform": "../examples/jobtransform.wasm",
	"jobsummary":   "../examples/jobsummary.wasm",
	"jobfail":      "../examples/jobfail.wasm",
	"hash":         "../wasm/hash/hash-cmd.wasm",
}

// jobEndRE finds the job's id and status in the last report of `shoal job
// submit --wait`.
var jobEndRE = regexp.MustCompile(`(?m)^job (\S+) (\S+), \d+/\d+ steps done$`)

// TestJobs is a user's session with jobs on a gateway and two workers,
// each a process: the example modules named with `shoal module put
// --name`, the pipeline and the failing job through `shoal job submit
// --wait`, their artifacts through `shoal job get`, their output through
// `shoal logs`; then kill -9 of the worker in the middle of a job's long
// step, after which the job runs again on the other worker.
func TestJobs(t *testing.T) {
	m := startMesh(t, 2)
	for name, file := range jobModules {
		if out, code := cli(t, m.url, "module", "put", "--name", name, file); code != 0 || !strings.Contains(out, " "+name) {
			t.Fatalf("module put --name %s: exit %d: %s", name, code, out)
		}
	}

	t.Run("pipeline", func(t *testing.T) {
		out, code := cli(t, m.url, "job", "submit", "../examples/jobs/pipeline.json", "--wait")
		end := jobEndRE.FindStringSubmatch(out)
		if code != 0 || end == nil || end[2] != string(api.Succeeded) {
			t.Fatalf("job submit pipeline.json --wait: exit %d\n%s", code, out)
		}
		id := end[1]
		mustSummary(t, m.url, id)
		logs, code := cli(t, m.url, "logs", id)
		for _, step := range []string{"generate", "transform", "summarize"} {
			if code != 0 || !strings.Contains(logs, "\n["+step+"] ") && !strings.HasPrefix(logs, "["+step+"] ") {
				t.Fatalf("shoal logs %s: exit %d, no line of step %s:\n%s", id, code, step, logs)
			}
		}
		if !strings.Contains(logs, `[summarize]   "count": 500,`) {
			t.Fatalf("shoal logs %s: no count from step summarize:\n%s", id, logs)
		}
		if out, code := cli(t, m.url, "jobs"); code != 0 || !regexp.MustCompile(`(?m)^`+id+`\s.*\ssucceeded\s+3/3\s`).MatchString(out) {
			t.Fatalf("shoal jobs: exit %d, no row of %s succeeded 3/3:\n%s", code, id, out)
		}
	})

	t.Run("a failing step", func(t *testing.T) {
		out, code := cli(t, m.url, "job", "submit", "../examples/jobs/failing.json", "--wait")
		end := jobEndRE.FindStringSubmatch(out)
		if code != 1 || end == nil || end[2] != string(api.Failed) ||
			!regexp.MustCompile(`(?m)^fail\s+failed\s+generate\s+3\s`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^transform\s+skipped\s`).MatchString(out) {
			t.Fatalf("job submit failing.json --wait: exit %d, want 1 with step fail failed (exit 3) and transform skipped:\n%s", code, out)
		}
		// What the steps that ran left in /shared comes back all the same.
		dir := t.TempDir()
		if out, code := cli(t, m.url, "job", "get", end[1], "--output", dir); code != 0 {
			t.Fatalf("job get %s: exit %d\n%s", end[1], code, out)
		}
		for _, f := range []string{"data.csv", "jobfail.txt"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("job get of the failed job: %v", err)
			}
		}
	})

	t.Run("kill -9 of the worker mid-step", func(t *testing.T) {
		submit := startCLI(t, m.url, "job", "submit", "testdata/longstep.json", "--wait")
		var j api.Job
		waitFor(t, time.Minute, "step spin running", func() bool {
			getJSON(t, m.url+"/jobs/longstep", &j)
			return len(j.Steps) == 4 && j.Steps[1].Status == api.Running
		})
		follow := startCLI(t, m.url, "logs", "-f", "longstep")
		victim, survivor := m.workers[0], m.workers[1]
		if peerOf(victim) != j.Worker {
			victim, survivor = survivor, victim
		}
		if peerOf(victim) != j.Worker {
			t.Fatalf("job longstep runs on %s, none of the workers", j.Worker)
		}
		killed := time.Now()
		victim.cmd.Process.Kill()
		t.Logf("kill -9 the worker running step spin of attempt %d", j.Attempt)

		if code := submit.wait(t); code != 0 || !strings.Contains(submit.stdout.String(), "job longstep succeeded, 4/4 steps done") {
			t.Fatalf("job submit --wait through the kill: exit %d\n%s%s", code, submit.stdout.String(), submit.stderr.String())
		}
		t.Logf("the job succeeded %v after the kill", time.Since(killed).Round(time.Millisecond))
		getJSON(t, m.url+"/jobs/longstep", &j)
		if j.Status != api.Succeeded || j.Attempt != 1 || j.Worker != peerOf(survivor) {
			t.Fatalf("after the kill: %s, attempt %d on %s; want succeeded, attempt 1 on the other worker %s", j.Status, j.Attempt, j.Worker, peerOf(survivor))
		}
		var paths []string
		for _, f := range j.Files {
			paths = append(paths, f.Path)
		}
		if want := []string{"data.csv", "summary.json", "transformed.csv"}; !slices.Equal(paths, want) {
			t.Fatalf("artifacts %v, want each of %v once", paths, want)
		}
		mustSummary(t, m.url, "longstep")

		if code := follow.wait(t); code != 0 {
			t.Fatalf("logs -f through the kill: exit %d\n%s", code, follow.stderr.String())
		}
		logs := follow.stdout.String()
		if strings.Count(logs, "[spin] 3140321\n") != 1 || !strings.Contains(logs, `[summarize]   "count": 500,`) {
			t.Fatalf("logs -f through the kill: want the puzzle's answer once and the summary:\n%s", logs)
		}
	})
}

// mustSummary downloads job id's artifacts with `shoal job get` and checks
// the pipeline's summary.json: the 500 even values of 1000 rows, 0 to 998.
func mustSummary(t *testing.T, gw, id string) {
	t.Helper()
	dir := t.TempDir()
	if out, code := cli(t, gw, "job", "get", id, "--output", dir); code != 0 {
		t.Fatalf("job get %s: exit %d\n%s", id, code, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Count, Sum int }
	if err := json.Unmarshal(b, &sum); err != nil || sum.Count != 500 || sum.Sum != 249500 {
		t.Fatalf("summary.json of job %s: %v, want count 500 and sum 249500:\n%s", id, err, b)
	}
}

func peerOf(p *proc) string { return peerRE.FindStringSubmatch(p.start)[1] }

// bgCLI is a client command running in the background.
type bgCLI struct {
	args           []string
	stdout, stderr strings.Builder // read once done
	done           chan int        // its exit code
}

// startCLI starts a client command against the gateway; wait returns its
// exit code.
func startCLI(t *testing.T, gw string, args ...string) *bgCLI {
	t.Helper()
	b := &bgCLI{args: args, done: make(chan int, 1)}
	cmd := exec.Command(shoal, append(args, "--gateway", gw)...)
	cmd.Stdout, cmd.Stderr = &b.stdout, &b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		b.done <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	return b
}

// wait returns the command's exit code once it has exited; a command that
// is still running after two minutes fails the test.
func (b *bgCLI) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		return code
	case <-time.After(2 * time.Minute):
		t.Fatalf("shoal %v still running after 2m", b.args)
		return -1
	}
}
