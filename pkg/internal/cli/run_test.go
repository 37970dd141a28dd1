package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/wasm"
)

// shoal run against a real mesh: the output of the root with its pid,
// --simple as written, a partial last line flushed, exit codes, failures
// without one.
func TestRun(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	gw := "--gateway=" + url
	hello := MustWriteFile(t, "hello.wasm", wasm.Hello)
	hash := MustWriteFile(t, "hash-cmd.wasm", wasm.HashCCommand)
	stdin := MustWriteFile(t, "in.txt", []byte("line one\nno newline"))

	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string // exactly, with the task's id line left out
	}{
		{"prefixed", []string{"run", hello, "a", "b c", gw, "--id", "p"}, 0,
			"[0] hello a b c\n", ""},
		{"no args: argv is the id alone", []string{"run", hello, gw, "--id", "noargs"}, 0,
			"[0] hello\n", ""},
		{"partial line flushed", []string{"run", "--stdin", stdin, hello, gw, "--id", "partial"}, 0,
			"[0] hello\n[0] line one\n[0] no newline\n", ""},
		{"simple", []string{"run", "--simple", "--stdin", stdin, hello, "x", gw, "--id", "simple"}, 0,
			"hello x\nline one\nno newline", ""},
		{"arguments after --", []string{"run", hello, gw, "--id", "dashes", "--", "-v", "--cores"}, 0,
			"[0] hello -v --cores\n", ""},
		{"exit code", []string{"run", hash, "zero", gw, "--id", "exit2"}, 2,
			"", "[0] usage: hash"},
		{"exit code, simple", []string{"run", "--simple", hash, "zero", gw, "--id", "exit2s"}, 2,
			"", "usage: hash"},
		{"failed without an exit code", []string{"run", hash, "0", "6", "--fuel", "1000", gw, "--id", "fuel"}, 1,
			"", "shoal: run: fuel exhausted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := shoal(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			id := tc.args[slices.Index(tc.args, "--id")+1]
			stderr, simple := r.stderr, slices.Index(tc.args, "--simple") >= 0
			if !simple {
				var found bool
				stderr, found = strings.CutPrefix(stderr, "task "+id+"\n")
				if !found {
					t.Errorf("stderr does not start with the task's id: %q", r.stderr)
				}
			}
			if tc.stderr == "" && stderr != "" || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q, want %q in it", stderr, tc.stderr)
			}
		})
	}
	shoal(t, "task", "p", gw).want(t, 0, []string{`args:`, `["a" "b c"]`}, nil)
	shoal(t, "run", gw).want(t, 2, nil, []string{"shoal: run: missing APP.wasm: usage: shoal run APP.wasm [ARGS...] [flags]"})
	shoal(t, "run", hello, "--timeout", "soon", gw).want(t, 2, nil, []string{`invalid value "soon" for flag -timeout`})
	shoal(t, "run", hello, "--repeats", "2", gw).want(t, 2, nil, []string{"flag provided but not defined: -repeats"})
	shoal(t, "run", "-h").want(t, 0, nil, []string{"Usage: shoal run APP.wasm", "[0] parent start", "exits 130"})
}

// An interrupt (ctx ending, as SIGINT does in cmd/shoal) cancels the
// task and exits 130.
func TestRunInterrupted(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	hash := MustWriteFile(t, "hash-cmd.wasm", wasm.HashCCommand)
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		// Difficulty 12 takes far longer than the test.
		done <- cli.Run(ctx, []string{"run", hash, "0", "12", "--id", "long", "--gateway", url}, &stdout, &stderr)
	}()
	mustWaitStatus(t, c, "long", api.Running)
	interrupt()
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit code %d, want 130; stderr: %s", code, stderr.String())
		}
	case <-time.After(clientTestTimeout):
		t.Fatal("shoal run did not end after the interrupt")
	}
	if !strings.Contains(stderr.String(), "shoal: run: interrupted; task long canceled") {
		t.Errorf("stderr: %q", stderr.String())
	}
	tv := mustWaitStatus(t, c, "long", api.Canceled)
	if n := len(tv.Runs); n != 1 || tv.Runs[0].Status != api.Canceled {
		t.Errorf("runs of the canceled task: %+v", tv.Runs)
	}
}

// mustWaitStatus waits until task id has status want, and returns it.
func mustWaitStatus(tb testing.TB, c *client.Client, id string, want api.Status) api.Task {
	tb.Helper()
	deadline := time.Now().Add(clientTestTimeout)
	for {
		tv, err := c.Task(context.Background(), id)
		if err == nil && tv.Status == want {
			return tv
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %s: %+v (%v), want it %s", id, tv, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
