package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/cli"
	"github.com/shoalmesh/shoal/pkg/gateway"
	"github.com/shoalmesh/shoal/pkg/httpapi"
	"github.com/shoalmesh/shoal/pkg/p2p"
	"github.com/shoalmesh/shoal/pkg/sched"
	"github.com/shoalmesh/shoal/pkg/task"
	"github.com/shoalmesh/shoal/pkg/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// clientTestTimeout bounds every command a test runs.
const clientTestTimeout = 30 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MustLoopbackHost starts a libp2p host on loopback, closed when the test
// ends.
func MustLoopbackHost(tb testing.TB) host.Host {
	tb.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key, Listen: p2p.DefaultListen()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// MustAPIGateway runs a real gateway with its HTTP API in an httptest
// server until the test ends; it returns the API's URL and the gateway's
// host.
func MustAPIGateway(tb testing.TB) (string, host.Host) {
	tb.Helper()
	h := MustLoopbackHost(tb)
	g, err := gateway.New(gateway.DefaultConfig(), h, quietLogger())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("gateway Run: %v", err)
		}
	})
	srv := httptest.NewServer(httpapi.New(httpapi.DefaultConfig(), g, quietLogger()))
	tb.Cleanup(srv.Close)
	return srv.URL, h
}

// MustGatewayWorker runs a real one-slot worker of the gateway on gw until
// the test ends.
func MustGatewayWorker(tb testing.TB, gw host.Host) {
	tb.Helper()
	h := MustLoopbackHost(tb)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := worker.DefaultConfig()
	cfg.Slots = 1
	w, err := worker.New(ctx, cfg, h, quietLogger())
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(context.Context) (peer.AddrInfo, error) {
			return peer.AddrInfo{ID: gw.ID(), Addrs: gw.Addrs()}, nil
		})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("worker Run: %v", err)
		}
		_ = w.Close(context.Background())
	})
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
	var list []httpapi.TaskView
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

	shoal(t, "task", "t1", gw).want(t, 0, []string{"id:", "t1", "description:  Hash puzzle", "status:", "scheduled",
		"0/3 done", "input:", "difficulty:", "RUN  WORKER", "EXIT"}, nil)
	var one httpapi.TaskView
	mustUnmarshal(t, shoal(t, "task", gw, "t2", "--json").stdout, &one)
	if one.ID != "t2" || len(one.Runs) != 1 {
		t.Errorf("task t2 --json = %+v", one)
	}

	shoal(t, "cancel", "t1", gw).want(t, 0, []string{"t1 canceled\n"}, nil)
	shoal(t, "cancel", "t1", gw).want(t, 1, nil, []string{"shoal: cancel: task t1 has already ended (canceled); there is nothing to cancel"})
	shoal(t, "task", "t1", gw).want(t, 0, []string{"canceled"}, nil)
}

func TestSubmitErrors(t *testing.T) {
	url, _ := MustAPIGateway(t)
	gw := "--gateway=" + url
	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	dir := t.TempDir()
	shoal(t, "submit", mod, "--id", "dup", gw).want(t, 0, nil, nil)
	text := MustWriteFile(t, "notes.txt", []byte("hello"))
	wat := MustWriteFile(t, "m.wat", []byte("(module)\n"))
	bad := MustWriteFile(t, "bad.wasm", []byte("\x00asm\x01\x00\x00\x00\xff"))
	unreadable := MustWriteFile(t, "secret.wasm", wasm.HashC)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	usage := "usage: shoal submit FILE.wasm [flags]"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"no file", []string{}, 2, []string{"shoal: submit: missing FILE.wasm: " + usage}},
		{"two files", []string{mod, mod}, 2, []string{`unexpected argument "` + mod + `"`, usage}},
		{"missing file", []string{filepath.Join(dir, "nope.wasm")}, 1, []string{"nope.wasm: no such file; check the path"}},
		{"directory", []string{dir}, 1, []string{"is a directory; give a file"}},
		{"not wasm", []string{text}, 1, []string{"notes.txt is not a WebAssembly module", "compiled .wasm"}},
		{"wasm text", []string{wat}, 1, []string{"m.wat is WebAssembly text", "wat2wasm"}},
		{"does not compile", []string{bad}, 1, []string{"shoal: submit: " + bad + ": "}},
		{"not an integer", []string{mod, "--input", "abc"}, 2, []string{"invalid value \"abc\" for flag -input"}},
		{"bad id", []string{mod, "--id", "a/b"}, 2, []string{`--id "a/b": use 1-128 letters`, usage}},
		{"repeats 0", []string{mod, "--repeats", "0"}, 2, []string{"--repeats: must be between 1 and"}},
		{"negative start", []string{mod, "--start", "-1"}, 2, []string{"--start: must not be negative"}},
		{"bad delay", []string{mod, "--delay", "soon"}, 2, []string{`--delay: "soon" is neither a number of seconds nor a duration`}},
		{"bad memory", []string{mod, "--memory", "lots"}, 2, []string{"--memory: ", "512MiB"}},
		{"bad env", []string{mod, "--env", "NOVALUE"}, 2, []string{`--env "NOVALUE": want K=V`}},
		{"bad retries", []string{mod, "--retries", "-1"}, 2, []string{"--retries: must be between 0 and"}},
		{"missing stdin", []string{mod, "--stdin", filepath.Join(dir, "in.txt")}, 1, []string{"--stdin ", "in.txt: no such file"}},
		{"duplicate id", []string{mod, "--id", "dup"}, 1, []string{"shoal: submit: --id dup: a task with this id exists; choose another id"}},
		{"priority out of range (the gateway says)", []string{mod, "--priority", "5000"}, 1, []string{"shoal: submit: --priority: must be between -1000 and 1000, got 5000"}},
		{"bad gateway URL", []string{mod, "--gateway", "localhost:8080"}, 2, []string{"shoal: submit: --gateway: ", "must start with http://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			shoal(t, append([]string{"submit", gw}, tc.args...)...).want(t, tc.code, nil, tc.stderr)
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		shoal(t, "submit", unreadable, gw).want(t, 1, nil, []string{"secret.wasm: not readable (permission denied)"})
	})
	shoal(t, "submit", "-h").want(t, 0, nil, []string{"Usage: shoal submit FILE.wasm [flags]", "-difficulty"})
	var list []httpapi.TaskView
	mustUnmarshal(t, shoal(t, "tasks", "--json", gw).stdout, &list)
	if len(list) != 1 {
		t.Errorf("rejected submissions left tasks: %+v", list)
	}
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
	for _, cmd := range []string{"task", "cancel", "logs"} {
		shoal(t, cmd, "--gateway", url).want(t, 2, nil, []string{"shoal: " + cmd + ": missing task ID: usage: shoal " + cmd + " ID"})
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
}

func TestWorkersAndLogsWithoutWorkers(t *testing.T) {
	url, gwHost := MustAPIGateway(t)
	gw := "--gateway=" + url
	shoal(t, "workers", gw).want(t, 0, nil, []string{"no workers at " + url + "; start one with `shoal worker --dial " + gwHost.ID().String() + "`"})
	var ws []sched.WorkerInfo
	r := shoal(t, "workers", "--json", gw)
	mustUnmarshal(t, r.stdout, &ws)
	if ws == nil || len(ws) != 0 {
		t.Errorf("workers --json = %q, want []", r.stdout)
	}

	mod := MustWriteFile(t, "hash.wasm", wasm.HashC)
	shoal(t, "submit", mod, "--id", "q", gw).want(t, 0, nil, nil)
	r = shoal(t, "logs", "q", gw)
	r.want(t, 0, nil, nil)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("logs of a task with no output printed %q, %q", r.stdout, r.stderr)
	}
	// -f ends when the task does.
	shoal(t, "cancel", "q", gw).want(t, 0, nil, nil)
	shoal(t, "logs", "-f", "q", gw).want(t, 0, nil, nil)
}

func TestSubmitWait(t *testing.T) {
	url, gwHost := MustAPIGateway(t)
	MustGatewayWorker(t, gwHost)
	gw := "--gateway=" + url
	cmd := MustWriteFile(t, "hash-cmd.wasm", wasm.HashCCommand)

	r := shoal(t, "submit", cmd, "--id", "ok", "--input", "0", "--difficulty", "3", "--repeats", "2", "--wait", gw)
	r.want(t, 0, []string{"2832\n2832\n", "task ok succeeded, completions 2", "RUN  WORKER", "succeeded  0"},
		[]string{"ok: 2/2 runs done, 0 running, completions 2, succeeded\n"})
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress to a non-terminal rewrote a line:\n%q", r.stderr)
	}

	r = shoal(t, "submit", cmd, "--id", "bad", "--args", "zero", "--args", "3", "--wait", gw)
	r.want(t, 1, []string{"task bad failed, completions 0", "failed  2", "error: "}, []string{"usage: hash", "bad: 1/1 runs done, 0 running, completions 0, failed"})

	r = shoal(t, "submit", cmd, "--id", "js", "--input", "0", "--difficulty", "1", "--wait", "--json", gw)
	r.want(t, 0, nil, []string{"js: 1/1"})
	var tv httpapi.TaskView
	mustUnmarshal(t, r.stdout, &tv)
	if tv.ID != "js" || tv.Status != task.Succeeded || tv.Runs[0].Worker == "" {
		t.Errorf("submit --wait --json = %+v", tv)
	}

	shoal(t, "logs", "ok", gw).want(t, 0, []string{"2832\n2832\n"}, nil)
	shoal(t, "logs", "-f", "bad", gw).want(t, 0, nil, []string{"usage: hash"})
	shoal(t, "tasks", gw).want(t, 0, []string{"ok ", "succeeded", "2/2", "2832", "bad ", "failed"}, nil)
	shoal(t, "workers", gw).want(t, 0, []string{"ID ", "SLOTS", "MEMORY", "LABELS", "RUNS", "0/1", "4GiB"}, nil)
}
