package wasm_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/shoalmesh/shoal/wasm"
)

var modules = map[string][]byte{
	"HashC":        wasm.HashC,
	"HashCCommand": wasm.HashCCommand,
	"HashGo":       wasm.HashGo,
	"HashGoWW":     wasm.HashGoWW,
	"Hello":        wasm.Hello,
	"Flood":        wasm.Flood,
}

func TestModules(t *testing.T) {
	ctx := context.Background()
	// DWARF off, as in the worker: parsing it on every proc_exit is slow.
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)

	for _, name := range []string{"HashC", "HashCCommand", "HashGo", "HashGoWW", "Hello", "Flood"} {
		t.Logf("%-12s %8d bytes", name, len(modules[name]))
	}

	// Compiling a Go module takes about a second, so each module is compiled
	// once, by the first test that needs it.
	compiled := map[string]wazero.CompiledModule{}
	compile := func(t *testing.T, name string) wazero.CompiledModule {
		t.Helper()
		if c, ok := compiled[name]; ok {
			return c
		}
		c, err := r.CompileModule(ctx, modules[name])
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		compiled[name] = c
		return c
	}

	tests := []struct {
		name   string
		module string
		// ww ABI: the arguments of run; nil for a WASI command.
		run      []int32
		args     []string
		stdin    string
		want     string // run's result as text, or stdout
		wantExit uint32
	}{
		{name: "HashC/run", module: "HashC", run: []int32{0, 3}, want: "2832"},
		{name: "HashC/negative input", module: "HashC", run: []int32{-5, 2}, want: "33"},
		{name: "HashC/bad difficulty", module: "HashC", run: []int32{0, 65}, want: "-1"},
		{name: "HashCCommand/argv", module: "HashCCommand", args: []string{"t", "0", "3"}, want: "2832\n"},
		{name: "HashCCommand/negative input", module: "HashCCommand", args: []string{"t", "-5", "2"}, want: "33\n"},
		{name: "HashCCommand/bad argv", module: "HashCCommand", args: []string{"t", "zero", "3"}, wantExit: 2},
		{name: "HashGo/argv", module: "HashGo", args: []string{"t", "0", "3"}, want: "2832\n"},
		{name: "HashGo/negative input", module: "HashGo", args: []string{"t", "-5", "2"}, want: "33\n"},
		{name: "HashGo/bad argv", module: "HashGo", args: []string{"t"}, wantExit: 2},
		{name: "HashGoWW/run", module: "HashGoWW", run: []int32{0, 3}, want: "2832"},
		{name: "HashGoWW/negative input", module: "HashGoWW", run: []int32{-5, 2}, want: "33"},
		{name: "Hello/args and stdin", module: "Hello", args: []string{"t", "a", "b"}, stdin: "xyz", want: "hello a b\nxyz"},
		{name: "Hello/no args", module: "Hello", args: []string{"t"}, want: "hello\n"},
		{name: "Flood/one line and a half", module: "Flood", args: []string{"t", "100", "0"},
			want: "flood 000000000000" + strings.Repeat(".", 45) + "\nflood 000000000001" + strings.Repeat(".", 18)},
		{name: "Flood/nothing", module: "Flood", args: []string{"t", "-5"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, tc.module)
			if tc.run != nil {
				if got := callRun(ctx, t, r, c, tc.run[0], tc.run[1]); got != tc.want {
					t.Errorf("run(%d, %d) = %s, want %s", tc.run[0], tc.run[1], got, tc.want)
				}
				return
			}
			stdout, stderr, code := runCommand(ctx, t, r, c, tc.args, tc.stdin)
			if code != tc.wantExit {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantExit, stderr)
			}
			if stdout != tc.want {
				t.Errorf("stdout %q, want %q", stdout, tc.want)
			}
			if tc.wantExit == 2 && !strings.HasPrefix(stderr, "usage: ") {
				t.Errorf("stderr %q, want a usage line", stderr)
			}
		})
	}
}

// callRun instantiates a ww ABI module, runs _initialize when exported, and
// returns run(input, difficulty) as text.
func callRun(ctx context.Context, t *testing.T, r wazero.Runtime, c wazero.CompiledModule, input, difficulty int32) string {
	t.Helper()
	mod, err := r.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer mod.Close(ctx)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			t.Fatalf("_initialize: %v", err)
		}
	}
	run := mod.ExportedFunction("run")
	if run == nil {
		t.Fatal("no exported run")
	}
	res, err := run.Call(ctx, api.EncodeI32(input), api.EncodeI32(difficulty))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return strconv.Itoa(int(api.DecodeI32(res[0])))
}

// runCommand runs a WASI command's _start and returns its output and exit
// code.
func runCommand(ctx context.Context, t *testing.T, r wazero.Runtime, c wazero.CompiledModule, args []string, stdin string) (stdout, stderr string, code uint32) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithArgs(args...).
		WithStdin(strings.NewReader(stdin)).
		WithStdout(&out).
		WithStderr(&errOut)
	mod, err := r.InstantiateModule(ctx, c, cfg)
	if exit := (*sys.ExitError)(nil); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	if mod != nil {
		mod.Close(ctx)
	}
	return out.String(), errOut.String(), code
}

// Padded builds valid modules of the size asked, whose run reads the data
// they carry: the sum matches the one computed from the module's bytes,
// windows past the data count 0, and the same size gives the same bytes.
func TestPadded(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false))
	t.Cleanup(func() { r.Close(ctx) })
	for _, size := range []int{300, 1 << 20, 12 << 20} {
		mod := wasm.Padded(size)
		if len(mod) < size-256 || len(mod) > size {
			t.Fatalf("Padded(%d) is %d bytes", size, len(mod))
		}
		if !bytes.Equal(mod, wasm.Padded(size)) {
			t.Fatalf("Padded(%d) differs between calls", size)
		}
		inst, err := r.InstantiateWithConfig(ctx, mod, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatalf("Padded(%d): %v", size, err)
		}
		for _, c := range [][2]int32{{0, 16}, {int32(size / 2), 100}, {int32(size - 300), 200}, {-5, 10}, {int32(size), 50}} {
			res, err := inst.ExportedFunction("run").Call(ctx, api.EncodeI32(c[0]), api.EncodeI32(c[1]))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := api.DecodeI32(res[0]), wasm.PaddedSum(mod, size, c[0], c[1]); got != want {
				t.Errorf("Padded(%d) run(%d, %d) = %d, want %d", size, c[0], c[1], got, want)
			}
		}
		if s := wasm.PaddedSum(mod, size, 0, 64); size > 1000 && s == 0 {
			t.Errorf("Padded(%d): its data is zeros", size)
		}
		inst.Close(ctx)
	}
}

func TestPuzzle(t *testing.T) {
	if got := wasm.Puzzle(0, 3); got != 2832 { // the answer the package documents
		t.Fatalf("wasm.Puzzle(0, 3) = %d, want 2832", got)
	}
}

// Flood prints exactly the bytes it is asked for, across its 4 KiB writes.
func TestFloodCount(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	c, err := r.CompileModule(ctx, wasm.Flood)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 64, 4096, 4097, 1 << 20} {
		stdout, _, code := runCommand(ctx, t, r, c, []string{"t", strconv.Itoa(n)}, "")
		if want := "flood 000000000000"; code != 0 || len(stdout) != n || stdout[:min(n, len(want))] != want[:min(n, len(want))] {
			t.Errorf("flood %d: exit %d, %d bytes", n, code, len(stdout))
		}
	}
}
