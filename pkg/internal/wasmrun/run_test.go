package wasmrun_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestRun(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	good := MustCompile(t, r, "ww_add")
	tests := []struct {
		name   string
		module string
		spec   wasmrun.Spec
		want   wasmrun.Result // OK, ExitCode, Output, Truncated
		error  string         // prefix of Result.Error
	}{
		{
			name: "ww add", module: "ww_add",
			spec: wasmrun.Spec{Input: ptr(2), Difficulty: ptr(3)},
			want: wasmrun.Result{OK: true, Output: "5"},
		},
		{
			name: "ww no arguments", module: "ww_add",
			want: wasmrun.Result{OK: true, Output: "0"},
		},
		{
			name: "ww negative result", module: "ww_add",
			spec: wasmrun.Spec{Input: ptr(-10), Difficulty: ptr(3)},
			want: wasmrun.Result{OK: true, Output: "-7"},
		},
		{
			name: "ww input over i32", module: "ww_add",
			spec:  wasmrun.Spec{Input: ptr(1 << 40)},
			want:  wasmrun.Result{ExitCode: -1},
			error: "input 1099511627776 does not fit in an i32",
		},
		{
			name: "ww _initialize", module: "initialize",
			spec: wasmrun.Spec{Input: ptr(1), Difficulty: ptr(2)},
			want: wasmrun.Result{OK: true, Output: "1003"},
		},
		{
			name: "ww _start with proc_exit(0)", module: "start_exit",
			spec: wasmrun.Spec{Input: ptr(1), Difficulty: ptr(2)},
			want: wasmrun.Result{OK: true, Output: "10"},
		},
		{
			name: "command argv env stdin", module: "echo",
			spec: wasmrun.Spec{Name: "task1", Args: []string{"a", "b c"}, Env: []string{"K=V", "X=a=b"}, Stdin: []byte("hello\nworld\n")},
			want: wasmrun.Result{OK: true, Output: "task1\na\nb c\nK=V\nX=a=b\nhello\nworld\n"},
		},
		{
			name: "command default argv", module: "echo",
			spec: wasmrun.Spec{Name: "t", Input: ptr(5), Difficulty: ptr(3)},
			want: wasmrun.Result{OK: true, Output: "t\n5\n3\n"},
		},
		{
			name: "command empty args", module: "echo",
			spec: wasmrun.Spec{Name: "t", Args: []string{}, Input: ptr(5)},
			want: wasmrun.Result{OK: true, Output: "t\n"},
		},
		{
			name: "command output cut", module: "echo",
			spec: wasmrun.Spec{Name: "task1", MaxOutput: 4},
			want: wasmrun.Result{OK: true, Output: "task", Truncated: true},
		},
		{
			name: "bad env entry", module: "echo",
			spec:  wasmrun.Spec{Env: []string{"NOVALUE"}},
			want:  wasmrun.Result{ExitCode: -1},
			error: `env entry "NOVALUE" is not K=V`,
		},
		{
			name: "exit code", module: "exit3",
			want:  wasmrun.Result{ExitCode: 3},
			error: "exit code 3",
		},
		{
			name: "infinite loop", module: "loop",
			spec:  wasmrun.Spec{Timeout: 100 * time.Millisecond},
			want:  wasmrun.Result{ExitCode: -1},
			error: "time limit of 100ms exceeded",
		},
		{
			name: "sleeps an hour", module: "sleep",
			spec:  wasmrun.Spec{Timeout: 100 * time.Millisecond},
			want:  wasmrun.Result{ExitCode: -1},
			error: "time limit of 100ms exceeded",
		},
		{
			name: "memory bomb", module: "membomb",
			spec:  wasmrun.Spec{Memory: 4 << 20},
			want:  wasmrun.Result{ExitCode: -1},
			error: "memory limit of 4 MiB exceeded (trap: unreachable",
		},
		{
			name: "stdout flood", module: "flood",
			spec: wasmrun.Spec{MaxOutput: 1000},
			want: wasmrun.Result{OK: true, Output: strings.Repeat("y", 1000), Truncated: true},
		},
		{
			name: "deep recursion", module: "recursion",
			want:  wasmrun.Result{ExitCode: -1},
			error: "trap: stack overflow",
		},
		{
			name: "unreachable", module: "unreachable",
			want:  wasmrun.Result{ExitCode: -1},
			error: "trap: unreachable",
		},
		{
			name: "initial memory over the limit", module: "bigmem",
			spec:  wasmrun.Spec{Memory: 16 << 20},
			want:  wasmrun.Result{ExitCode: -1},
			error: "over the memory limit: module needs 32 MiB of memory at start, the limit is 16 MiB",
		},
		{
			name: "initial memory within the limit", module: "bigmem",
			want: wasmrun.Result{OK: true, Output: "0"},
		},
		{
			name:  "module not compiled",
			spec:  wasmrun.Spec{Module: wasmrun.HashOf([]byte("nothing"))},
			want:  wasmrun.Result{ExitCode: -1},
			error: "module not compiled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if tt.module != "" {
				spec.Module = MustCompile(t, r, tt.module)
			}
			got := r.Run(context.Background(), spec)
			checkResult(t, got, tt.want, tt.error)

			// Whatever the module did, the Runner still runs a good one.
			after := r.Run(context.Background(), wasmrun.Spec{Module: good, Input: ptr(2), Difficulty: ptr(3)})
			checkResult(t, after, wasmrun.Result{OK: true, Output: "5"}, "")
		})
	}
}

func checkResult(t *testing.T, got, want wasmrun.Result, errPrefix string) {
	t.Helper()
	if got.OK != want.OK || got.ExitCode != want.ExitCode || got.Output != want.Output || got.Truncated != want.Truncated {
		t.Errorf("Result = {OK:%v ExitCode:%d Output:%.60q Truncated:%v Error:%q}; want {OK:%v ExitCode:%d Output:%.60q Truncated:%v}",
			got.OK, got.ExitCode, got.Output, got.Truncated, got.Error, want.OK, want.ExitCode, want.Output, want.Truncated)
	}
	if !strings.HasPrefix(got.Error, errPrefix) || (errPrefix == "") != (got.Error == "") {
		t.Errorf("Result.Error = %q; want prefix %q", got.Error, errPrefix)
	}
}

// TestRunMemoryLimitOfRunner runs a memory bomb against the Runner's own
// limit, where wazero refuses the growth before the run's allocator is asked.
func TestRunMemoryLimitOfRunner(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.MemoryLimit = 8 << 20
	r := MustRunner(t, cfg)
	tests := []struct {
		name   string
		memory uint64
		limit  string
	}{
		{name: "runner limit", memory: 0, limit: "8 MiB"},
		{name: "spec over runner limit is capped", memory: 1 << 30, limit: "8 MiB"},
		{name: "spec under runner limit", memory: 2 << 20, limit: "2 MiB"},
		{name: "spec not page aligned", memory: 3<<20 + 100, limit: "3 MiB"},
	}
	h := MustCompile(t, r, "membomb")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Run(context.Background(), wasmrun.Spec{Module: h, Memory: tt.memory})
			checkResult(t, got, wasmrun.Result{ExitCode: -1}, "memory limit of "+tt.limit+" exceeded (trap: unreachable")
		})
	}
}

// TestRunCanceled: ending a run's context stops a command's loop and a ww
// module's loop with no calls alike, with its cause.
func TestRunCanceled(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	for _, module := range []string{"loop", "spin"} {
		t.Run(module, func(t *testing.T) {
			h := MustCompile(t, r, module)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			got := r.Run(ctx, wasmrun.Spec{Module: h})
			checkResult(t, got, wasmrun.Result{ExitCode: -1}, "canceled: context canceled")
		})
	}
}

func TestCloseEndsRuns(t *testing.T) {
	r, err := wasmrun.New(context.Background(), wasmrun.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := MustCompile(t, r, "loop")
	started := make(chan struct{})
	done := make(chan wasmrun.Result)
	go func() {
		close(started)
		done <- r.Run(context.Background(), wasmrun.Spec{Module: h})
	}()
	<-started
	time.Sleep(50 * time.Millisecond) // let the run enter its loop
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkResult(t, <-done, wasmrun.Result{ExitCode: -1}, "runner closed")

	checkResult(t, r.Run(context.Background(), wasmrun.Spec{Module: h}), wasmrun.Result{ExitCode: -1}, "runner closed")
	if _, _, err := r.Compile(context.Background(), MustModule(t, "ww_add")); err != wasmrun.ErrClosed {
		t.Errorf("Compile after Close = %v; want ErrClosed", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestRunFreshMemory checks that no run sees what an earlier run left in its
// memory, whatever the runtime does to reuse memory.
func TestRunFreshMemory(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	h := MustCompile(t, r, "leak")
	for i := range 200 {
		grow := int64(i % 40)
		got := r.Run(context.Background(), wasmrun.Spec{Module: h, Input: ptr(0x5eed), Difficulty: &grow})
		checkResult(t, got, wasmrun.Result{OK: true, Output: "0"}, "")
	}
}
