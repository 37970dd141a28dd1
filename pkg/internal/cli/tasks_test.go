package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// clientTestTimeout bounds every command a test runs.
const clientTestTimeout = 30 * time.Second

// MustAPIGateway runs a real gateway with its HTTP API (package meshtest)
// until the test ends; it returns the API's URL and the mesh, whose workers
// have one slot each.
func MustAPIGateway(tb testing.TB) (string, *meshtest.Mesh) {
	tb.Helper()
	m := meshtest.Start(tb, meshtest.Options{Slots: 1})
	return m.URL, m
}

// result is what one `shoal` invocation did.
type result struct {
	code           int
	stdout, stderr string
}

// shoal runs the command line args and returns what it did.
func shoal(tb testing.TB, args ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTestTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// want checks the exit code and that each output contains its fragments.
func (r result) want(tb testing.TB, code int, stdout, stderr []string) {
	tb.Helper()
	if r.code != code {
		tb.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			tb.Errorf("stdout does not contain %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			tb.Errorf("stderr does not contain %q:\n%s", s, r.stderr)
		}
	}
}

// MustWriteFile writes data to name in a temporary directory and returns
// its path.
func MustWriteFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustUnmarshal(tb testing.TB, s string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		tb.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

func TestTasksTaskCancel(t *testing.T) {
	url, _ := MustAPIGateway(t)
	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	gw := "--gateway=" + url

	shoal(t, "tasks", gw).want(t, 0, nil, []string{"no tasks at " + url, "shoal submit FILE.wasm"})
	r := shoal(t, "tasks", "--json", gw)
	r.want(t, 0, []string{"[]"}, nil)

	// Flags may follow the file, and the file may follow flags.
	shoal(t, "submit", mod, "--id", "t1", "--description", "Hash puzzle", "--input", "0", "--difficulty", "3",
		"--repeats", "3", "--start", "1h", "--delay", "2", "--duration", "5", gw).want(t, 0, []string{"t1 scheduled\n"}, nil)
	shoal(t, "submit", gw, "--id=t2", "--label", "gpu", "--env", "K=V", "--args", "a", "--args", "b c", "--memory", "64MiB",
		"--retries", "0", "--priority", "5", "--complete", "4", mod).want(t, 0, []string{"t2 "}, nil)

	shoal(t, "tasks", gw).want(t, 0, []string{"ID  ", "STATUS", "RUNS", "COMPLETIONS", "RESULT", "CREATED", "t1  ", "0/3", "t2  "}, nil)
	r = shoal(t, "tasks", "--json", gw)
	var list []api.Task
	mustUnmarshal(t, r.stdout, &list)
	if len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t2" {
		t.Fatalf("tasks --json = %+v, want t1 then t2", list)
	}
	if t1 := list[0]; t1.Description != "Hash puzzle" || *t1.Input != 0 || *t1.Difficulty != 3 || t1.Repeats != 3 ||
		t1.Start != 3600 || t1.Delay != 2 || t1.Duration != 5 || t1.Status != task.Scheduled {
		t.Errorf("t1 = %+v", t1)
	}
	if t2 := list[1]; t2.Labels[0] != "gpu" || t2.Env[0] != "K=V" || len(t2.Args) != 2 || t2.Args[1] != "b c" ||
		t2.Memory != 64<<20 || t2.Retries != 0 || t2.Priority != 5 || t2.Completions != 4 || t2.Input != nil {
		t.Errorf("t2 = %+v", t2)
	}

	// The newest --limit, of --status, or --all.
	r = shoal(t, "tasks", "--limit", "1", gw)
	r.want(t, 0, []string{"t2  "}, []string{"(the newest 1; --all lists every one)"})
	if strings.Contains(r.stdout, "t1") {
		t.Errorf("tasks --limit 1 lists t1:\n%s", r.stdout)
	}
	mustUnmarshal(t, shoal(t, "tasks", "--status", "scheduled,running", "--json", gw).stdout, &list)
	if len(list) != 1 || list[0].ID != "t1" {
		t.Errorf("tasks --status scheduled,running = %+v, want t1", list)
	}
	mustUnmarshal(t, shoal(t, "tasks", "--all", "--limit", "1", "--json", gw).stdout, &list)
	if len(list) != 2 || list[0].ID != "t1" {
		t.Errorf("tasks --all = %+v, want t1 then t2", list)
	}
	shoal(t, "tasks", "--status", "failed", gw).want(t, 0, nil, []string{"no failed tasks at " + url})
	shoal(t, "tasks", "--limit", "0", gw).want(t, 2, nil, []string{"shoal: tasks: --limit: \"0\" is not a number from 1 to 1000"})
	shoal(t, "tasks", "--status", "done", gw).want(t, 2, nil, []string{"shoal: tasks: --status: \"done\" is not a status"})

	shoal(t, "task", "t1", gw).want(t, 0, []string{"id:", "t1", "description:  Hash puzzle", "status:", "scheduled",
		"0/3 done", "input:", "difficulty:", "RUN  WORKER", "EXIT"}, nil)
	var one api.Task
	mustUnmarshal(t, shoal(t, "task", gw, "t2", "--json").stdout, &one)
	if one.ID != "t2" || len(one.Runs) != 1 {
		t.Errorf("task t2 --json = %+v", one)
	}

	shoal(t, "cancel", "t1", gw).want(t, 0, []string{"t1 canceled\n"}, nil)
	shoal(t, "cancel", "t1", gw).want(t, 1, nil, []string{"shoal: cancel: task t1 has already ended (canceled); there is nothing to cancel"})
	shoal(t, "task", "t1", gw).want(t, 0, []string{"canceled"}, nil)
}

func TestUnknownTask(t *testing.T) {
	url, _ := MustAPIGateway(t)
	const msg = "shoal: task nope not found; `shoal tasks` lists the tasks\n"
	for _, args := range [][]string{{"task", "nope"}, {"cancel", "nope"}, {"logs", "nope"}, {"logs", "-f", "nope"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := shoal(t, append(args, "--gateway", url)...)
			r.want(t, 1, nil, nil)
			if r.stderr != msg {
				t.Errorf("stderr %q, want %q", r.stderr, msg)
			}
		})
	}
	for cmd, what := range map[string]string{"task": "task ID", "cancel": "task ID", "logs": "task or job ID"} {
		shoal(t, cmd, "--gateway", url).want(t, 2, nil, []string{"shoal: " + cmd + ": missing " + what + ": usage: shoal " + cmd + " ID"})
	}
	shoal(t, "tasks", "extra", "--gateway", url).want(t, 2, nil, []string{`shoal: tasks: unexpected argument "extra": usage: shoal tasks`})
}

func TestNoGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("SHOAL_GATEWAY", url)
	for _, args := range [][]string{{"tasks"}, {"task", "x"}, {"workers"}, {"logs", "x"}, {"cancel", "x"}} {
		shoal(t, args...).want(t, 1, nil, []string{"shoal: " + args[0] + ": gateway not reachable at " + url, "start one with `shoal gateway`, or pass --gateway URL"})
	}
}

func TestGatewayFromEnvironment(t *testing.T) {
	url, _ := MustAPIGateway(t)
	t.Setenv("SHOAL_GATEWAY", url)
	shoal(t, "tasks").want(t, 0, nil, []string{"no tasks at " + url})
	t.Setenv("SHOAL_GATEWAY", "gateway:8080")
	shoal(t, "tasks").want(t, 2, nil, []string{"shoal: tasks: $SHOAL_GATEWAY: gateway URL \"gateway:8080\" must start with http://"})
}

func TestWorkersNone(t *testing.T) {
	url, m := MustAPIGateway(t)
	gw := "--gateway=" + url
	shoal(t, "workers", gw).want(t, 0, nil, []string{"no workers at " + url + "; start one with `shoal worker --dial " + m.Host.ID().String() + "`"})
	var ws []api.Worker
	r := shoal(t, "workers", "--json", gw)
	mustUnmarshal(t, r.stdout, &ws)
	if ws == nil || len(ws) != 0 {
		t.Errorf("workers --json = %q, want []", r.stdout)
	}
}
