package wasm_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/shoalmesh/shoal/wasm"
)

// unsupported is what a run without a process host says: every function
// of the shoal host module but last_error returns ERR_UNSUPPORTED.
const unsupported = "this runner has no process host"

// instantiateUnsupported defines the shoal host module with the signatures
// of docs/PROCESSES.md, so that a module importing a function with another
// signature fails to instantiate, and every call is ERR_UNSUPPORTED.
func instantiateUnsupported(ctx context.Context, t *testing.T, r wazero.Runtime) {
	t.Helper()
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	b := r.NewHostModuleBuilder("shoal")
	fail := api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(-7)
	})
	for _, f := range []struct {
		name   string
		params []api.ValueType
	}{
		{"spawn", []api.ValueType{i32, i32}},
		{"send", []api.ValueType{i32, i32, i32}},
		{"recv", []api.ValueType{i32, i32, i32, i64, i32}},
		{"close", []api.ValueType{i32}},
		{"wait", []api.ValueType{i32, i32}},
		{"self", []api.ValueType{i32, i32}},
	} {
		b.NewFunctionBuilder().WithGoModuleFunction(fail, f.params, []api.ValueType{i32}).Export(f.name)
	}
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, stack []uint64) {
		ptr, capacity := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		text := unsupported[:min(len(unsupported), int(capacity))]
		if !m.Memory().WriteString(ptr, text) {
			panic("last_error: out of memory")
		}
		stack[0] = api.EncodeI32(int32(len(unsupported)))
	}), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("last_error")
	if _, err := b.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
}

// The process examples import the shoal functions they use with the ABI's
// signatures, and fail cleanly, saying why, on a runner without a process
// host.
func TestProcessModulesUnsupported(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	instantiateUnsupported(ctx, t, r)

	procs := map[string][]byte{"HelloSpawn": wasm.HelloSpawn, "MapReduce": wasm.MapReduce, "SpawnC": wasm.SpawnC, "ProcBench": wasm.ProcBench, "ProcTest": wasm.ProcTest}
	imports := map[string][]string{
		"HelloSpawn": {"last_error", "recv", "send", "spawn", "wait"},
		"MapReduce":  {"close", "last_error", "recv", "send", "spawn", "wait"},
		"SpawnC":     {"close", "last_error", "recv", "send", "spawn", "wait"},
		"ProcBench":  {"close", "last_error", "recv", "send", "spawn", "wait"},
		"ProcTest":   {"close", "last_error", "recv", "self", "send", "spawn", "wait"},
	}
	compiled := map[string]wazero.CompiledModule{}
	for _, name := range []string{"HelloSpawn", "MapReduce", "SpawnC", "ProcBench", "ProcTest"} {
		t.Logf("%-10s %8d bytes", name, len(procs[name]))
		c, err := r.CompileModule(ctx, procs[name])
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		compiled[name] = c
		var got []string
		for _, f := range c.ImportedFunctions() {
			if mod, fn, _ := f.Import(); mod == "shoal" {
				got = append(got, fn)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, imports[name]) {
			t.Errorf("%s imports shoal %q, want %q", name, got, imports[name])
		}
	}

	tests := []struct {
		name, module string
		args         []string
		stdout       string
		stderr       string // a prefix, followed by unsupported
		exit         uint32
	}{
		{"HelloSpawn/parent", "HelloSpawn", []string{"t"}, "parent start\n",
			"hello-spawn: shoal: spawn: processes unsupported: ", 1},
		{"HelloSpawn/child", "HelloSpawn", []string{"t.1", "child"}, "child start\n",
			"hello-spawn: shoal: recv from parent: processes unsupported: ", 1},
		{"MapReduce/default", "MapReduce", []string{"t"}, "",
			"mapreduce: shoal: spawn: processes unsupported: ", 1},
		{"MapReduce/args", "MapReduce", []string{"t", "0", "3", "2"}, "",
			"mapreduce: shoal: spawn: processes unsupported: ", 1},
		{"MapReduce/child", "MapReduce", []string{"t.1", "map", "0", "3", "1", "4"}, "",
			"mapreduce: shoal: recv from parent: processes unsupported: ", 1},
		{"MapReduce/bad argv", "MapReduce", []string{"t", "0"}, "", "usage: ", 2},
		{"SpawnC/parent", "SpawnC", []string{"t"}, "",
			"spawnc: spawn: SHOAL_ERR_UNSUPPORTED: ", 1},
		{"SpawnC/child", "SpawnC", []string{"t.1", "child"}, "",
			"spawnc: recv: SHOAL_ERR_UNSUPPORTED: ", 1},
		{"ProcBench/spawn", "ProcBench", []string{"t", "spawn", "10", "near=parent"}, "",
			"procbench: spawn: SHOAL_ERR_UNSUPPORTED: ", 1},
		{"ProcBench/echo", "ProcBench", []string{"t.1", "echo"}, "",
			"procbench: recv: SHOAL_ERR_UNSUPPORTED: ", 1},
		{"ProcBench/exit", "ProcBench", []string{"t", "exit"}, "", "", 0},
		{"ProcBench/bad argv", "ProcBench", []string{"t", "spawn", "1", "far=away"}, "", "usage: ", 2},
		{"ProcTest/child", "ProcTest", []string{"t.1", "recv-forever"}, "",
			"send: SHOAL_ERR_UNSUPPORTED: ", 1},
		{"ProcTest/bad argv", "ProcTest", []string{"t", "wait"}, "", "usage: ", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCommand(ctx, t, r, compiled[tc.module], tc.args, "")
			if code != tc.exit || stdout != tc.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q", code, stdout, tc.exit, tc.stdout)
			}
			want := tc.stderr + unsupported + "\n"
			switch tc.exit {
			case 0:
				if stderr != "" {
					t.Errorf("stderr %q, want none", stderr)
				}
				return
			case 2:
				want = tc.stderr
			}
			if !strings.HasPrefix(stderr, want) {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
		})
	}
}

// The modules in examples/ are the ones built here: make -C wasm copies
// them.
func TestExamplesUpToDate(t *testing.T) {
	for file, want := range map[string][]byte{
		"hash.wasm":        wasm.HashC,
		"hello.wasm":       wasm.Hello,
		"hello-spawn.wasm": wasm.HelloSpawn,
		"mapreduce.wasm":   wasm.MapReduce,
	} {
		got, err := os.ReadFile("../examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/%s differs from its module in wasm/: run make -C wasm", file)
		}
	}
}
