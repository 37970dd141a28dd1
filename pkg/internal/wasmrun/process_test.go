package wasmrun_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// cluster stands for the gateway and one worker: a Table whose spawned
// children run module on the same Runner, each in a goroutine, ended when
// the test ends.
type cluster struct {
	r      *wasmrun.Runner
	module wasmrun.Hash
	table  *proc.Table

	ctx     context.Context // of the children's runs
	mu      sync.Mutex
	spawned int
	runs    sync.WaitGroup
}

var _ proc.Transport = (*cluster)(nil)

func newCluster(tb testing.TB, r *wasmrun.Runner, module wasmrun.Hash) *cluster {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{r: r, module: module, ctx: ctx}
	c.table = proc.NewTable(c)
	tb.Cleanup(func() {
		c.mu.Lock()
		cancel() // under mu: no Spawn adds a run once Wait may have begun
		c.mu.Unlock()
		c.runs.Wait()
	})
	return c
}

// run runs module as the process key, child of parent ("" for a root),
// and reports its end to the table as the gateway would.
func (c *cluster) run(ctx context.Context, key, parent proc.Key, spec wasmrun.Spec) (wasmrun.Result, error) {
	p, err := c.table.Start(key, parent)
	if err != nil {
		return wasmrun.Result{}, err
	}
	spec.Module, spec.Name, spec.Processes = c.module, string(key), p.Host()
	res := c.r.Run(ctx, spec)
	exit := proc.Exit{Code: res.ExitCode}
	if res.ExitCode < 0 {
		exit.Err = res.Error
	}
	p.End(exit)
	if parent != "" {
		c.table.Ended(key, exit)
	}
	return res, nil
}

func (c *cluster) Spawn(ctx context.Context, parent proc.Key, req proc.Request) (proc.Key, error) {
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return "", fmt.Errorf("%w: the test has ended", proc.ErrSpawn) // a spawn still under way as its parent ended
	}
	c.spawned++
	key := proc.Key(fmt.Sprintf("%s.%d", parent, c.spawned))
	c.runs.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.runs.Done()
		_, _ = c.run(c.ctx, key, parent, wasmrun.Spec{Args: req.Args, Env: req.Env, Stdin: req.Stdin, Timeout: req.Timeout})
	}()
	return key, nil
}

func (c *cluster) Send(ctx context.Context, from, to proc.Key, msg []byte) error {
	return c.table.Deliver(ctx, from, to, msg)
}

func (c *cluster) Close(ctx context.Context, from, to proc.Key) error {
	return c.table.Closed(ctx, from, to)
}

func TestProcessCalls(t *testing.T) {
	const root = "task/0#1"
	badRequest := "invalid: request record: truncated field header at offset 0"
	tests := []struct {
		name    string
		input   int64
		arg     int64
		noHost  bool
		timeout time.Duration
		want    string // Output, or Error when the run fails
	}{
		{name: "round trip", input: 10, want: "4"},
		{name: "spawn", input: 1, want: "1"},
		{name: "recv timeout", input: 2, arg: 5, want: "-3"},
		{name: "recv no wait", input: 2, arg: 0, want: "-3"},
		{name: "spawn request outside memory", input: 3, want: "-1"},
		{name: "send message past memory", input: 4, want: "-1"},
		{name: "recv length outside memory", input: 5, want: "-1"},
		{name: "bad request and last_error", input: 7, want: strconv.Itoa(len(badRequest))},
		{name: "self", input: 8, want: strconv.Itoa(len(root))},
		{name: "wait for the parent", input: 9, want: "-1"},
		{name: "recv blocked until the time limit", input: 6, timeout: 50 * time.Millisecond, want: "time limit of 50ms exceeded"},
		{name: "spawn without a host", input: 1, noHost: true, want: "-7"},
		{name: "self without a host", input: 8, noHost: true, want: "-7"},
		{name: "last_error without a host", input: 7, noHost: true, want: strconv.Itoa(len("processes unsupported: this run has no process host"))},
	}
	for _, preempt := range []string{wasmrun.PreemptInstrument, wasmrun.PreemptWazero, wasmrun.PreemptNone} {
		r := sharedRunner(t, preempt)
		h := mustCompileBytes(t, r, MustModule(t, "proc_calls"))
		for _, tt := range tests {
			t.Run(preempt+"/"+tt.name, func(t *testing.T) {
				c := newCluster(t, r, h)
				spec := wasmrun.Spec{Input: ptr(tt.input), Difficulty: ptr(tt.arg), Timeout: tt.timeout}
				var res wasmrun.Result
				if tt.noHost {
					spec.Module, spec.Name = h, root
					res = r.Run(context.Background(), spec)
				} else {
					var err error
					if res, err = c.run(context.Background(), root, "", spec); err != nil {
						t.Fatal(err)
					}
				}
				got := res.Output
				if !res.OK {
					got = res.Error
				}
				if got != tt.want {
					t.Fatalf("run = %+v, want %q", res, tt.want)
				}
			})
		}
	}
}

// A module that imports the process host functions is not standalone:
// its runs reach other processes through the gateway. One that does
// not is, once compiled (its worker may go on with a run of it after
// losing its gateway).
func TestStandalone(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	echo := MustCompile(t, r, "echo")
	spawner := MustCompile(t, r, "proc_calls")
	if !r.Standalone(echo) {
		t.Error("echo, which imports no process function, is not standalone")
	}
	if r.Standalone(spawner) {
		t.Error("a module importing spawn is standalone")
	}
	if r.Standalone(wasmrun.HashOf([]byte("not compiled"))) {
		t.Error("a module not held is standalone")
	}
}
