package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/wasm"
)

// shoal run of a process tree against a real mesh of two workers:
// examples/hello-spawn's lines with their pids in Hadean's order, the
// gateway's reservation lines on stderr (none with --simple), exit 0, and
// the tree in `shoal task ID`.
func TestRunProcessTree(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	m.AddWorker()
	m.WaitWorkers(2)
	gw := "--gateway=" + url
	hello := MustWriteFile(t, "hello-spawn.wasm", wasm.HelloSpawn)

	r := shoal(t, "run", hello, gw, "--id", "hs")
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	const hadean = "[0] parent start\n[1] child start\n[1] child received: parent\n" +
		"[0] parent received: child\n[0] parent end\n[1] child end\n"
	if r.stdout != hadean {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, hadean)
	}
	// The task's id, then the child's reservation taken and given back,
	// in Hadean's words, without a pid prefix: they name the process.
	reservation := `resources for 1 on \S+ \(before: cores=\S+,memory=[^;]+; after: cores=\S+,memory=[^;]+; delta: cores=1/16,memory=64 MiB\)`
	stderr := regexp.MustCompile(`^task hs\nReserving ` + reservation + `\nReleasing ` + reservation + `\n$`)
	if !stderr.MatchString(r.stderr) {
		t.Errorf("stderr:\n%s\nwant it to match %s", r.stderr, stderr)
	}

	r = shoal(t, "run", "--simple", hello, gw, "--id", "hs-simple")
	unprefixed := regexp.MustCompile(`(?m)^\[\d+\] `).ReplaceAllString(hadean, "")
	if r.code != 0 || r.stdout != unprefixed || r.stderr != "" {
		t.Errorf("--simple: exit code %d\nstdout: %q, want %q\nstderr: %q, want none", r.code, r.stdout, unprefixed, r.stderr)
	}

	shoal(t, "task", "hs", gw).want(t, 0, []string{
		"RUN ",
		"\nPID   STATUS     WORKER ",
		"\n└─ 1  succeeded  12*",
		"1/16   64 MiB  0\n",
	}, nil)
}

// An interrupt of a run whose children would keep running (map-reduce
// at difficulty 9 searches far longer than the test) cancels the task,
// ends every process of its tree, and gives back what they reserved.
func TestRunInterruptedEndsTheTree(t *testing.T) {
	url, m := MustAPIGateway(t)
	m.AddWorker()
	m.AddWorker()
	m.WaitWorkers(2)
	mr := MustWriteFile(t, "mapreduce.wasm", wasm.MapReduce)
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"run", mr, "0", "9", "--id", "mr", "--gateway", url}, &stdout, &stderr)
	}()
	// Interrupt once the root and its 4 children all run.
	waitTask(t, c, "mr", "every process running", func(tv api.Task) bool {
		if len(tv.Processes) != 5 {
			return false
		}
		for _, p := range tv.Processes {
			if p.Status != api.Running {
				return false
			}
		}
		return true
	})
	interrupt()
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit code %d, want 130; stderr: %s", code, stderr.String())
		}
	case <-time.After(clientTestTimeout):
		t.Fatal("shoal run did not end after the interrupt")
	}
	if !strings.Contains(stderr.String(), "shoal: run: interrupted; task mr canceled") {
		t.Errorf("stderr: %q", stderr.String())
	}
	mustWaitStatus(t, c, "mr", api.Canceled)
	tv := waitTask(t, c, "mr", "every process ended", func(tv api.Task) bool {
		for _, p := range tv.Processes {
			if !p.Status.Done() || p.Ended.IsZero() {
				return false
			}
		}
		return len(tv.Processes) == 5
	})
	for _, p := range tv.Processes[1:] {
		if p.Status != api.Canceled {
			t.Errorf("child %d: %s (%s), want canceled", p.PID, p.Status, p.Error)
		}
	}
	deadline := time.Now().Add(clientTestTimeout)
	for {
		ws, err := c.Workers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var used float64
		var usedMem uint64
		var slots int
		for _, w := range ws {
			used, usedMem, slots = used+w.UsedCores, usedMem+w.UsedMem, slots+w.Used
		}
		if used == 0 && usedMem == 0 && slots == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers still hold cores %g, memory %d, slots %d: %+v", used, usedMem, slots, ws)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTask waits until task id satisfies ok, and returns it.
func waitTask(tb testing.TB, c *client.Client, id, what string, ok func(api.Task) bool) api.Task {
	tb.Helper()
	deadline := time.Now().Add(clientTestTimeout)
	for {
		tv, err := c.Task(context.Background(), id)
		if err == nil && ok(tv) {
			return tv
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %s: no %s: %+v (%v)", id, what, tv, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
